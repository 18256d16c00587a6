"""Index guest orders by email digest: every order event looks them up (to adopt them)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('saleor_crm', '0015_schedule_loyalty'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='orderrecord',
            index=models.Index(condition=models.Q(('user_id__isnull', True)), fields=['email_digest'], name='order_guest_email'),
        ),
    ]
