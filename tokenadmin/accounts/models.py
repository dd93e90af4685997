from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A Keycloak admin as tokenadmin knows them; Keycloak stays the source of truth.

    Matched on `keycloak_sub` (the token's `sub`), so a renamed Keycloak user stays one row.
    """

    keycloak_sub = models.CharField(max_length=255, unique=True, null=True, blank=True)

    def __str__(self) -> str:
        return self.username
