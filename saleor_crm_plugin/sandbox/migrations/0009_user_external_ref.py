import django.db.models.fields.json
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('saleor_crm_sandbox', '0008_order_private_metadata'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='sandboxuser',
            index=models.Index(django.db.models.fields.json.KeyTransform('external_reference', 'private_metadata'), name='sandbox_user_external_ref'),
        ),
    ]
