#!/bin/bash
# Puts tokenadmin's clients and first admin into realm master of a running Keycloak 26, through
# Keycloak's own admin CLI. Keycloak's --import-realm skips realms that exist, and master always
# exists by the time an import could run, so master is configured here instead. Idempotent: a
# second run updates the clients (secrets, redirect URIs) and leaves the admin's password alone.
#
# Runs in the keycloak image (compose service keycloak-bootstrap); the image has bash and
# kcadm.sh but no sed, curl or jq, so everything below is bash and kcadm.
#
# Needs: KEYCLOAK_URL, KC_BOOTSTRAP_ADMIN_USERNAME, KC_BOOTSTRAP_ADMIN_PASSWORD,
# TOKENADMIN_BASE_URL, TOKENADMIN_CLIENT_SECRET, TOKENADMIN_WORKER_CLIENT_SECRET,
# TOKENADMIN_ADMIN_USERNAME, TOKENADMIN_ADMIN_PASSWORD; optional TOKENADMIN_ADMIN_EMAIL.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# KCADM is overridable so tests can run this script with the distribution's kcadm.sh outside
# the image (tests/realkc) or a stand-in that records calls (tests/docker); KCADM_CONFIG too,
# so runs side by side keep their kcadm logins apart.
KCADM="${KCADM:-/opt/keycloak/bin/kcadm.sh}"
CONFIG="${KCADM_CONFIG:-/tmp/kcadm.config}"
# The client JSON files use these ${NAME} placeholders, the same syntax Keycloak's realm import
# resolves; nothing else in them is touched.
PLACEHOLDERS=(TOKENADMIN_BASE_URL TOKENADMIN_CLIENT_SECRET TOKENADMIN_WORKER_CLIENT_SECRET)

kc() { "$KCADM" "$@" --config "$CONFIG"; }

render() {
  local text name
  text="$(<"$1")"
  for name in "${PLACEHOLDERS[@]}"; do
    text="${text//"\${$name}"/"${!name}"}"
  done
  printf '%s\n' "$text"
}

# Prints the internal id of a client in master, or nothing.
client_uuid() {
  kc get clients -r master -q "clientId=$1" --fields id --format csv --noquotes
}

client_upsert() {
  local file="$1" client_id="$2" id
  id="$(client_uuid "$client_id")"
  if [[ -z "$id" ]]; then
    render "$file" | kc create clients -r master -f -
    echo "created client $client_id in master"
  else
    render "$file" | kc update "clients/$id" -r master -f -
    echo "updated client $client_id in master"
  fi
}

for name in KEYCLOAK_URL KC_BOOTSTRAP_ADMIN_USERNAME KC_BOOTSTRAP_ADMIN_PASSWORD \
  TOKENADMIN_ADMIN_USERNAME TOKENADMIN_ADMIN_PASSWORD "${PLACEHOLDERS[@]}"; do
  if [[ -z "${!name:-}" ]]; then
    echo "bootstrap-master: $name must be set" >&2
    exit 1
  fi
done

kc config credentials --server "$KEYCLOAK_URL" --realm master \
  --user "$KC_BOOTSTRAP_ADMIN_USERNAME" --password "$KC_BOOTSTRAP_ADMIN_PASSWORD"

# 1. The dashboard's login client and the jobs' service-account client.
client_upsert "$HERE/tokenadmin-client.json" tokenadmin
client_upsert "$HERE/tokenadmin-worker-client.json" tokenadmin-worker
# The `tokenadmin` command line: public, device grant, tokenadmin in its tokens' audience.
client_upsert "$HERE/tokenadmin-cli-client.json" tokenadmin-cli

# 2. The service account's rights: the roles listed in tokenadmin-worker-roles.txt on every
#    realm's management client in master (<realm>-realm). Realms created later need the same
#    (run this again, or add the roles in the admin console).
worker_roles=()
while IFS= read -r role || [[ -n "$role" ]]; do
  role="${role//[[:space:]]/}"
  [[ -n "$role" ]] && worker_roles+=("$role")
done <"$HERE/tokenadmin-worker-roles.txt"
role_args=()
for role in "${worker_roles[@]}"; do
  role_args+=(--rolename "$role")
done
while IFS= read -r realm; do
  [[ -z "$realm" ]] && continue
  kc add-roles -r master --uusername service-account-tokenadmin-worker \
    --cclientid "$realm-realm" "${role_args[@]}"
  echo "granted ${worker_roles[*]} on $realm to tokenadmin-worker"
done < <(kc get realms --fields realm --format csv --noquotes)

# 3. The first dashboard admin: a permanent master user with the admin realm role (Keycloak's
#    bootstrap admin is temporary by design and should be deleted once a real admin exists).
admin_id="$(kc get users -r master -q "username=$TOKENADMIN_ADMIN_USERNAME" -q exact=true \
  --fields id --format csv --noquotes)"
if [[ -z "$admin_id" ]]; then
  user_args=(-s "username=$TOKENADMIN_ADMIN_USERNAME" -s enabled=true)
  if [[ -n "${TOKENADMIN_ADMIN_EMAIL:-}" ]]; then
    user_args+=(-s "email=$TOKENADMIN_ADMIN_EMAIL" -s emailVerified=true)
  fi
  kc create users -r master "${user_args[@]}"
  kc set-password -r master --username "$TOKENADMIN_ADMIN_USERNAME" \
    --new-password "$TOKENADMIN_ADMIN_PASSWORD"
  echo "created admin user $TOKENADMIN_ADMIN_USERNAME in master"
fi
kc add-roles -r master --uusername "$TOKENADMIN_ADMIN_USERNAME" --rolename admin
echo "bootstrap-master: done"
