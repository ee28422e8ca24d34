import re

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

# As forum.content.markdown.count_links when this migration was written: a
# migration must keep doing what it did, whatever the application does later.
EXTERNAL_LINK = re.compile(r"<a\s[^>]*href=\"(?:https?:)?//", re.IGNORECASE)
BATCH = 1000


async def count_links_of_existing_posts(apps, schema_editor) -> None:
    """Count the links of posts written before posts kept the count (only those with a link)."""
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    mark = (lambda n: f"${n}") if postgres else (lambda n: "?")
    last = 0
    while True:
        _, rows = await client.execute_query(
            f"SELECT id, body_html FROM posts WHERE id > {mark(1)} AND body_html LIKE '%href=%'"
            f" ORDER BY id LIMIT {BATCH}", [last],
        )
        if not rows:
            return
        counts = [[n, row[0]] for row in rows if (n := len(EXTERNAL_LINK.findall(row[1])))]
        if counts:
            await client.execute_many(
                f"UPDATE posts SET link_count = {mark(1)} WHERE id = {mark(2)}", counts
            )
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [('forum', '0006_identity')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Post',
            name='link_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddIndex(
            model_name='Post',
            index=Index(fields=['author_id', 'created_at']),
        ),
        ops.RunPython(count_links_of_existing_posts, ops.RunPython.noop),
    ]
