from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "tokenadmin.policies"
    label = "policies"

    def ready(self) -> None:
        from tokenadmin.findings.signals import findings_ran

        from .tasks import policies_after_findings

        findings_ran.connect(policies_after_findings, weak=False, dispatch_uid="policies-run")
