from tokenadmin.accounts.rights import AdminRights


def test_master_admin_role_may_do_everything_everywhere():
    rights = AdminRights.from_claims({"realm_access": {"roles": ["admin", "offline_access"]}})
    assert rights.can("mlflow", "manage-users")
    assert rights.can("anything", "manage-realm")


def test_realm_client_roles_in_master_grant_rights_on_that_realm_only():
    claims = {"resource_access": {"mlflow-realm": {"roles": ["view-users"]}}}
    rights = AdminRights.from_claims(claims)
    assert rights.can("mlflow", "view-users")
    assert rights.can("mlflow", "query-users")
    assert not rights.can("mlflow", "manage-users")
    assert not rights.can("master", "view-users")


def test_manage_implies_view_as_keycloak_composites_do():
    claims = {"resource_access": {"mlflow-realm": {"roles": ["manage-realm", "manage-users"]}}}
    rights = AdminRights.from_claims(claims)
    assert rights.can("mlflow", "view-realm")
    assert rights.can("mlflow", "view-users")
    assert not rights.can("mlflow", "view-clients")


def test_no_admin_role_means_no_rights():
    claims = {
        "realm_access": {"roles": ["offline_access"]},
        "resource_access": {"account": {"roles": ["manage-account"]}},
    }
    assert not AdminRights.from_claims(claims).any_right()


def test_rights_survive_the_session_round_trip():
    rights = AdminRights.from_claims(
        {"resource_access": {"mlflow-realm": {"roles": ["view-realm"]}}}
    )
    assert AdminRights.from_session(rights.as_session()) == rights
