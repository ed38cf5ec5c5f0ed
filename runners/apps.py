from django.apps import AppConfig


class RunnersConfig(AppConfig):
    name = "runners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Fills the workflows app's read-only port, so that it never imports this app.
        from runners.node_library import node_paths_offered
        from runners.scope import runner_facts_serving
        from workflows import runner_facts

        runner_facts.provide(runner_facts_serving, node_paths_offered)
