from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.playbooks.models import Outcome, SuggestionStatus
from forum.playbooks.stages import Stage
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0002_search_outbox_and_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Playbook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=80)),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(unique=False)),
                ('body_source', fields.TextField(default='', unique=False)),
                ('body_html', fields.TextField(default='', unique=False)),
                ('stage', fields.CharEnumField(description='EXPLORING: exploring\nOPTIONS_APPRAISAL: options-appraisal\nBUSINESS_CASE: business-case\nPARENT_BODY_APPROVAL: parent-body-approval\nLEGAL_SET_UP: legal-set-up\nTUPE_PENSIONS: tupe-pensions\nGO_LIVE: go-live\nFIRST_RE_TENDER: first-re-tender\nGROWING: growing', enum_type=Stage, max_length=32)),
                ('topic', fields.ForeignKeyField('forum.Topic', source_field='topic_id', null=True, db_constraint=True, to_field='id', related_name='playbooks', on_delete=OnDelete.SET_NULL)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('steps', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('resources', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('revision_number', fields.IntField(default=1)),
                ('review_by', fields.DateField()),
                ('last_verified_by', fields.ForeignKeyField('forum.User', source_field='last_verified_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('last_verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('forum.User', source_field='created_by_id', db_constraint=True, to_field='id', related_name='playbooks_created', on_delete=OnDelete.RESTRICT)),
                ('updated_by', fields.ForeignKeyField('forum.User', source_field='updated_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('source_thread', fields.ForeignKeyField('forum.Thread', source_field='source_thread_id', null=True, db_constraint=True, to_field='id', related_name='promoted_playbooks', on_delete=OnDelete.SET_NULL)),
                ('outcome_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'playbooks', 'app': 'forum', 'indexes': [Index(fields=['stage', 'updated_at']), Index(fields=['topic_id', 'updated_at']), Index(fields=['updated_at', 'id']), Index(fields=['review_by', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChecklistTick',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('forum.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('playbook', fields.ForeignKeyField('forum.Playbook', source_field='playbook_id', db_constraint=True, to_field='id', related_name='ticks', on_delete=OnDelete.CASCADE)),
                ('item_key', fields.CharField(max_length=40)),
                ('ticked_by', fields.ForeignKeyField('forum.User', source_field='ticked_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('ticked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'playbook_ticks', 'app': 'forum', 'unique_together': (('organisation', 'playbook', 'item_key'),), 'indexes': [Index(fields=['playbook_id', 'organisation_id'])], 'pk_attr': 'id', 'table_description': 'One checklist item an organisation has done, ticked by one of its members.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutcomeReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('playbook', fields.ForeignKeyField('forum.Playbook', source_field='playbook_id', db_constraint=True, to_field='id', related_name='outcome_reports', on_delete=OnDelete.CASCADE)),
                ('step_key', fields.CharField(default='', max_length=16)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('forum.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('sector', fields.CharField(default='', max_length=80)),
                ('stage', fields.CharField(default='', max_length=32)),
                ('what_we_did', fields.TextField(unique=False)),
                ('what_we_did_html', fields.TextField(unique=False)),
                ('outcome', fields.CharEnumField(description='WORKED: worked\nPARTLY: partly\nDID_NOT_WORK: did-not-work', enum_type=Outcome, max_length=16)),
                ('happened_on', fields.DateField(null=True)),
                ('evidence_url', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'playbook_outcomes', 'app': 'forum', 'indexes': [Index(fields=['playbook_id', 'created_at']), Index(fields=['author_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "'Worked for us': what an organisation did with a playbook (or one step) and how it went."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlaybookMaintainer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('playbook', fields.ForeignKeyField('forum.Playbook', source_field='playbook_id', db_constraint=True, to_field='id', related_name='maintainers', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name='maintained_playbooks', on_delete=OnDelete.CASCADE)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'playbook_maintainers', 'app': 'forum', 'unique_together': (('playbook', 'user'),), 'indexes': [Index(fields=['user_id', 'playbook_id'])], 'pk_attr': 'id', 'table_description': 'A member who looks after a playbook: edits it, restores it, answers suggestions.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlaybookRevision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('playbook', fields.ForeignKeyField('forum.Playbook', source_field='playbook_id', db_constraint=True, to_field='id', related_name='revisions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('change_note', fields.CharField(max_length=200)),
                ('restored_from', fields.IntField(null=True)),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(unique=False)),
                ('body_source', fields.TextField(default='', unique=False)),
                ('body_html', fields.TextField(default='', unique=False)),
                ('stage', fields.CharEnumField(description='EXPLORING: exploring\nOPTIONS_APPRAISAL: options-appraisal\nBUSINESS_CASE: business-case\nPARENT_BODY_APPROVAL: parent-body-approval\nLEGAL_SET_UP: legal-set-up\nTUPE_PENSIONS: tupe-pensions\nGO_LIVE: go-live\nFIRST_RE_TENDER: first-re-tender\nGROWING: growing', enum_type=Stage, max_length=32)),
                ('topic', fields.ForeignKeyField('forum.Topic', source_field='topic_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('steps', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('resources', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'playbook_revisions', 'app': 'forum', 'unique_together': (('playbook', 'number'),), 'indexes': [Index(fields=['author_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One saved state of a playbook: who, when, why, and the whole content.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlaybookSuggestion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('playbook', fields.ForeignKeyField('forum.Playbook', source_field='playbook_id', db_constraint=True, to_field='id', related_name='suggestions', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('base_revision', fields.IntField()),
                ('change_note', fields.CharField(max_length=200)),
                ('title', fields.CharField(max_length=200)),
                ('summary', fields.TextField(unique=False)),
                ('body_source', fields.TextField(default='', unique=False)),
                ('body_html', fields.TextField(default='', unique=False)),
                ('steps', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('resources', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=SuggestionStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nDECLINED: declined', enum_type=SuggestionStatus, max_length=16)),
                ('decided_by', fields.ForeignKeyField('forum.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_reason', fields.TextField(default='', unique=False)),
                ('accepted_revision', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'playbook_suggestions', 'app': 'forum', 'indexes': [Index(fields=['status', 'created_at']), Index(fields=['playbook_id', 'status', 'created_at'])], 'pk_attr': 'id', 'table_description': "A member's proposed edit, waiting for a maintainer to accept or decline it."},
            bases=['Model'],
        ),
    ]
