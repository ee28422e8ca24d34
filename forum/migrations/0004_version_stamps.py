from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('forum', '0003_playbooks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='VersionStamp',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('version', fields.BigIntField(default=0)),
            ],
            options={'table': 'version_stamps', 'app': 'forum', 'pk_attr': 'name', 'table_description': 'One named counter ("content", "search-index"), shared by every process.'},
            bases=['Model'],
        ),
    ]
