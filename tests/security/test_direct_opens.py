"""Every page opened directly (a new tab, a reload, a bookmark) is a whole page: an htmx part
(an editor, a list, a progress bar) never arrives bare, unstyled, without the site around it."""

from django.urls import reverse

from .rights_table import ADMIN, RIGHTS

# An e-mail's HTML, shown in a frame of the mailbox or report page: a whole document of its own,
# without the site's navigation.
EMAIL_BODIES = {"demo:mail-html", "reports:preview-email"}


def test_every_get_url_opened_directly_gives_a_whole_page(world, client_as):
    client = client_as(ADMIN)
    bare = []
    for name, rule in sorted(RIGHTS.items()):
        if rule.signs_out or rule.get is None or ADMIN not in rule.get or name in EMAIL_BODIES:
            continue
        url = reverse(name, args=rule.args(world))
        response = client.get(url, rule.data(world), follow=True)
        if not response["Content-Type"].startswith("text/html"):
            continue  # a CSV, an attachment, the health check
        page = response.content.decode()
        if "<!doctype html>" not in page.lower() or "</nav>" not in page:
            bare.append(f"{name} {url} ({response.status_code}): {page[:80]!r}")
    assert bare == [], "\n".join(bare)


def test_edit_overrides_opened_directly_is_the_clients_page_with_the_editor(world, client_as):
    url = reverse("lifespans:client-edit", args=["mlflow", world.client_uuid])

    page = client_as(ADMIN).get(url).content.decode()

    assert page.lower().startswith("<!doctype html>")
    assert 'data-testid="client-editor"' in page
    assert 'data-testid="client-matrix"' in page
