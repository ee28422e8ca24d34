from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from forum.mentoring.models import GoalStatus, HelpSize, InvitationKind, RequestStatus, SpaceStatus
from forum.notifications.models import Kind
from forum.people.models import MentorStatus, ResponseTime
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('forum', '0004_version_stamps')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MentorInvitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('forum.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('mentor', fields.ForeignKeyField('forum.User', source_field='mentor_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('invited_by', fields.ForeignKeyField('forum.User', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharEnumField(description='INVITED: invited\nOFFERED: offered', enum_type=InvitationKind, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mentor_invitations', 'app': 'forum', 'unique_together': (('thread', 'mentor'),), 'pk_attr': 'id', 'table_description': 'Ask a mentor: a mentor asked to answer a public question.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MentorProfile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name='mentor_profile', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=MentorStatus.PENDING, description='PENDING: pending\nAPPROVED: approved\nDECLINED: declined', enum_type=MentorStatus, max_length=16)),
                ('expertise', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sectors', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('stages', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('topics', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('background', fields.TextField(default='', unique=False)),
                ('capacity', fields.IntField(default=3)),
                ('is_open', fields.BooleanField(default=True)),
                ('response_time', fields.CharEnumField(default=ResponseTime.FEW_DAYS, description='DAY: day\nFEW_DAYS: few-days\nWEEK: week', enum_type=ResponseTime, max_length=16)),
                ('active_mentorships', fields.IntField(default=0)),
                ('applied_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('forum.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decision_note', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'mentor_profiles', 'app': 'forum', 'indexes': [Index(fields=['status', 'applied_at'])], 'pk_attr': 'id', 'table_description': "A member's application to mentor and, once approved, their mentoring settings."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MentorRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('requester', fields.ForeignKeyField('forum.User', source_field='requester_id', db_constraint=True, to_field='id', related_name='mentor_requests_sent', on_delete=OnDelete.CASCADE)),
                ('mentor', fields.ForeignKeyField('forum.User', source_field='mentor_id', db_constraint=True, to_field='id', related_name='mentor_requests_received', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('forum.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('goal', fields.CharField(max_length=200)),
                ('context', fields.TextField(unique=False)),
                ('stage', fields.CharField(default='', max_length=40)),
                ('help_size', fields.CharEnumField(description='QUICK: quick\nFEW: few\nREGULAR: regular', enum_type=HelpSize, max_length=16)),
                ('status', fields.CharEnumField(default=RequestStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nDECLINED: declined\nWITHDRAWN: withdrawn\nEXPIRED: expired', enum_type=RequestStatus, max_length=16)),
                ('response_note', fields.TextField(default='', unique=False)),
                ('suggested', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mentor_requests', 'app': 'forum', 'indexes': [Index(fields=['status', 'expires_at']), Index(fields=['mentor_id', 'status', 'created_at']), Index(fields=['requester_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MentorshipSpace',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('request', fields.OneToOneField('forum.MentorRequest', source_field='request_id', null=True, db_constraint=True, to_field='id', related_name='space', on_delete=OnDelete.SET_NULL)),
                ('mentor', fields.ForeignKeyField('forum.User', source_field='mentor_id', db_constraint=True, to_field='id', related_name='mentoring_spaces', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('forum.Organisation', source_field='organisation_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('title', fields.CharField(max_length=200)),
                ('status', fields.CharEnumField(default=SpaceStatus.ACTIVE, description='ACTIVE: active\nCLOSED: closed', enum_type=SpaceStatus, max_length=16)),
                ('message_count', fields.IntField(default=0)),
                ('last_message_number', fields.IntField(default=0)),
                ('last_activity_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_by', fields.ForeignKeyField('forum.User', source_field='closed_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('achieved', fields.TextField(default='', unique=False)),
                ('achieved_html', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'mentorship_spaces', 'app': 'forum', 'indexes': [Index(fields=['mentor_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A private place for one mentorship: messages, goals and playbooks.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('forum.User', source_field='recipient_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='MENTOR_REQUEST: mentor-request\nREQUEST_ACCEPTED: request-accepted\nREQUEST_DECLINED: request-declined\nREQUEST_WITHDRAWN: request-withdrawn\nREQUEST_EXPIRED: request-expired\nSPACE_MESSAGE: space-message\nMENTORSHIP_CLOSED: mentorship-closed\nMENTOR_INVITED: mentor-invited\nQUESTION_OFFERED: question-offered\nMENTOR_APPLICATION: mentor-application\nAPPLICATION_DECIDED: application-decided\nMESSAGE_FLAGGED: message-flagged', enum_type=Kind, max_length=32)),
                ('actor', fields.ForeignKeyField('forum.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('subject_type', fields.CharField(max_length=32)),
                ('subject_id', fields.IntField()),
                ('text', fields.CharField(max_length=300)),
                ('url', fields.CharField(max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('emailed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'forum', 'indexes': [Index(fields=['recipient_id', 'read_at']), Index(fields=['recipient_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QuestionOffer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.OneToOneField('forum.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('offered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('mentor_count', fields.IntField(default=0)),
            ],
            options={'table': 'question_offers', 'app': 'forum', 'pk_attr': 'id', 'table_description': 'Marks a question the sweep has offered to mentors, so it is offered once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpaceGoal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('space', fields.ForeignKeyField('forum.MentorshipSpace', source_field='space_id', db_constraint=True, to_field='id', related_name='goals', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('status', fields.CharEnumField(default=GoalStatus.NOT_STARTED, description='NOT_STARTED: not-started\nIN_PROGRESS: in-progress\nDONE: done', enum_type=GoalStatus, max_length=16)),
                ('created_by', fields.ForeignKeyField('forum.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mentorship_goals', 'app': 'forum', 'indexes': [Index(fields=['space_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpaceMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('space', fields.ForeignKeyField('forum.MentorshipSpace', source_field='space_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('forum.User', source_field='user_id', db_constraint=True, to_field='id', related_name='space_memberships', on_delete=OnDelete.CASCADE)),
                ('is_mentor', fields.BooleanField(default=False)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mentorship_space_members', 'app': 'forum', 'unique_together': (('space', 'user'),), 'indexes': [Index(fields=['user_id', 'space_id'])], 'pk_attr': 'id', 'table_description': 'One participant of a space: its mentor, or a mentee.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpaceMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('space', fields.ForeignKeyField('forum.MentorshipSpace', source_field='space_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('forum.User', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('body_source', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('flagged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('flagged_by', fields.ForeignKeyField('forum.User', source_field='flagged_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('flag_reason', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'mentorship_messages', 'app': 'forum', 'unique_together': (('space', 'number'),), 'indexes': [Index(fields=['flagged_at', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpacePlaybook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('space', fields.ForeignKeyField('forum.MentorshipSpace', source_field='space_id', db_constraint=True, to_field='id', related_name='playbooks', on_delete=OnDelete.CASCADE)),
                ('playbook', fields.ForeignKeyField('forum.Playbook', source_field='playbook_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('added_by', fields.ForeignKeyField('forum.User', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mentorship_playbooks', 'app': 'forum', 'unique_together': (('space', 'playbook'),), 'pk_attr': 'id', 'table_description': 'A playbook a mentorship works through.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Organisation',
            name='contract_renewal_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Organisation',
            name='ownership_model',
            field=fields.CharField(default='', db_default='', max_length=80),
        ),
        ops.AddField(
            model_name='Organisation',
            name='spin_out_date',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Organisation',
            name='staff_size',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.AddField(
            model_name='User',
            name='is_organisation_admin',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='User',
            name='region',
            field=fields.CharField(default='', db_default='', max_length=80),
        ),
    ]
