from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('doc_id', fields.CharField(max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('dead', fields.BooleanField(default=False)),
            ],
            options={'table': 'index_outbox', 'app': 'forum', 'indexes': [Index(fields=['dead', 'next_attempt_at', 'id']), Index(fields=['doc_id'])], 'pk_attr': 'id', 'table_description': 'One document to (re)index or delete. Several rows may name the same document.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SearchLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('query', fields.CharField(max_length=200)),
                ('results', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'search_log', 'app': 'forum', 'indexes': [Index(fields=['results', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
