"""The score table goes (its rows are on the spend rows now, 0011); the spend row indexes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('saleor_crm', '0011_spend_scores'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='customerspend',
            index=models.Index(condition=models.Q(('segment__isnull', False)), fields=['currency', 'segment'], include=('profile', 'total_spent_amount', 'profile_order_count', 'profile_last_order_at', 'profile_active'), name='spend_segment_members'),
        ),
        migrations.AddIndex(
            model_name='customerspend',
            index=models.Index(fields=['currency', 'profile'], include=('segment', 'r', 'f', 'm', 'total_spent_amount', 'average_order_amount', 'profile_order_count', 'profile_first_order_at', 'profile_last_order_at', 'profile_lapse_at', 'profile_active'), name='spend_profile_rows'),
        ),
        migrations.AlterField(
            model_name='customerspend',
            name='profile',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='spends', to='saleor_crm.customerprofile'),
        ),
        migrations.DeleteModel(
            name='CustomerScore',
        ),
    ]
