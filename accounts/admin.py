from django.contrib import admin

from accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["hint", "name", "user", "created", "last_used"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name", "hint"]
    # The digest is useless to an operator and tokens are made through the API; revoke = delete.
    fields = ["user", "name", "hint", "created", "last_used"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
