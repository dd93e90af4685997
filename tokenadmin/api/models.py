from django.db import models


class AppliedPlan(models.Model):
    """A revocation plan the API applied, by the hash of its signed text: applying it again
    answers "already applied" with the job, instead of starting a second job."""

    digest = models.CharField(max_length=64, unique=True)
    # Empty while the job is being started: the digest is taken first, so two applies racing
    # cannot both start one.
    job = models.ForeignKey("revocation.RevocationJob", on_delete=models.CASCADE, null=True)
    applied_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"plan {self.digest[:12]} -> job {self.job_id}"
