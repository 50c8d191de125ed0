"""Keys issued by DRF's token app keep working as personal tokens; the plaintext goes."""

import hashlib

from django.db import migrations


def carry_over(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("access", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        ApiToken.objects.get_or_create(
            digest=hashlib.sha256(key.encode()).hexdigest(),
            defaults={
                "user_id": user_id,
                "name": "carried over from the earlier token",
                "prefix": key[:6],
                "created_at": created,
            },
        )
    schema_editor.execute(schema_editor.sql_delete_table % {"table": "authtoken_token"})


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
