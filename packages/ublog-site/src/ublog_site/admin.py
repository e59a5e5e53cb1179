"""The admin of the outbox's retry schedule, beside django-mailer's own
"Messages" (the queue) and "Message logs" (every attempt)."""

from django.contrib import admin

from .models import MailRetry


@admin.register(MailRetry)
class MailRetryAdmin(admin.ModelAdmin):
    list_display = [
        "message",
        "attempts",
        "last_attempt",
        "next_attempt",
        "unreachable",
        "failed",
        "last_error",
    ]
    list_filter = ["failed", "unreachable"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False
