from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.accounts.models import Role
from forum.threads.models import ThreadKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Organisation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=80)),
                ('name', fields.CharField(max_length=160)),
                ('sector', fields.CharField(default='', max_length=80)),
                ('stage', fields.CharField(default='', max_length=40)),
                ('parent_body', fields.CharField(default='', max_length=160)),
                ('legal_form', fields.CharField(default='', max_length=80)),
                ('website', fields.CharField(default='', max_length=255)),
                ('description', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organisations', 'app': 'forum', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Topic',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=80)),
                ('name', fields.CharField(max_length=120)),
                ('description', fields.TextField(default='', unique=False)),
                ('position', fields.IntField(default=0)),
                ('thread_count', fields.IntField(default=0)),
                ('post_count', fields.IntField(default=0)),
                ('last_activity_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'topics', 'app': 'forum', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(max_length=30)),
                ('username_key', fields.CharField(unique=True, max_length=30)),
                ('display_name', fields.CharField(max_length=60)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(default='', max_length=255)),
                ('role', fields.CharEnumField(default=Role.MEMBER, description='MEMBER: member\nMENTOR: mentor\nMODERATOR: moderator\nADMIN: admin', enum_type=Role, max_length=16)),
                ('bio', fields.TextField(default='', unique=False)),
                ('organisation', fields.ForeignKeyField('forum.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.SET_NULL)),
                ('is_active', fields.BooleanField(default=True)),
                ('thread_count', fields.IntField(default=0)),
                ('reply_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'forum', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('ip_address', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'sessions', 'app': 'forum', 'indexes': [Index(fields=['user_id', 'created_at'])], 'pk_attr': 'key', 'table_description': 'A signed-in browser. The cookie holds only `key`, so sessions can be revoked.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Thread',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.ForeignKeyField('forum.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.RESTRICT)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(default=ThreadKind.DISCUSSION, description='QUESTION: question\nDISCUSSION: discussion', enum_type=ThreadKind, max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('slug', fields.CharField(max_length=80)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reply_count', fields.IntField(default=0)),
                ('last_post_number', fields.IntField(default=1)),
                ('last_activity_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_poster', fields.ForeignKeyField('forum.User', source_field='last_poster_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('is_locked', fields.BooleanField(default=False)),
                ('is_pinned', fields.BooleanField(default=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('import_ref', fields.CharField(null=True, unique=True, max_length=80)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'threads', 'app': 'forum', 'indexes': [Index(fields=['topic_id', 'deleted_at', 'is_pinned', 'last_activity_at']), Index(fields=['deleted_at', 'last_activity_at']), Index(fields=['author_id', 'created_at']), Index(fields=['kind', 'reply_count', 'deleted_at', 'last_activity_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Post',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('forum.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.RESTRICT)),
                ('number', fields.IntField()),
                ('body_source', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('helpful_count', fields.IntField(default=0)),
                ('edit_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_by', fields.ForeignKeyField('forum.User', source_field='deleted_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('import_ref', fields.CharField(null=True, unique=True, max_length=80)),
            ],
            options={'table': 'posts', 'app': 'forum', 'unique_together': (('thread', 'number'),), 'indexes': [Index(fields=['author_id', 'number', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PostRevision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='revisions', on_delete=OnDelete.CASCADE)),
                ('editor', fields.ForeignKeyField('forum.User', source_field='editor_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(default='', max_length=200)),
                ('body_source', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'post_revisions', 'app': 'forum', 'indexes': [Index(fields=['post_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A previous text of a post, kept on every edit.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HelpfulVote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('forum.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='helpful_votes', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'helpful_votes', 'app': 'forum', 'unique_together': (('post', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Thread',
            name='accepted_post',
            field=fields.ForeignKeyField('forum.Post', source_field='accepted_post_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
    ]
