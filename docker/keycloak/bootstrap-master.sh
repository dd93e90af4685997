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
# TOKENADMIN_ADMIN_USERNAME, TOKENADMIN_ADMIN_PASSWORD; optional TOKENADMIN_ADMIN_EMAIL, and
# TOKENADMIN_API_CLIENTS: clientIds in master (e.g. a CI script's service account), separated
# by spaces, whose tokens tokenadmin's API should accept (step 4).
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

# Creates or updates a client from its JSON file; leaves its internal id in UPSERTED_ID.
UPSERTED_ID=""
client_upsert() {
  local file="$1" client_id="$2" id
  id="$(client_uuid "$client_id")"
  if [[ -z "$id" ]]; then
    id="$(render "$file" | kc create clients -r master -f - -i)"
    echo "created client $client_id in master"
  else
    render "$file" | kc update "clients/$id" -r master -f -
    echo "updated client $client_id in master"
  fi
  UPSERTED_ID="$id"
}

# Prints the internal id of a client scope in master, or nothing (the list has no search).
scope_uuid() {
  local id name
  while IFS=, read -r id name; do
    if [[ "$name" == "$1" ]]; then
      printf '%s\n' "$id"
      return
    fi
  done < <(kc get client-scopes -r master --fields id,name --format csv --noquotes)
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

# 4. The API's audience. tokenadmin accepts a bearer token only if it names tokenadmin as its
#    audience: the client scope tokenadmin-api adds it (an audience mapper), as a default scope
#    of the command line's public client (device flow) and of each client in
#    TOKENADMIN_API_CLIENTS. Tokens of other clients keep their audience and are refused.
scope_id="$(scope_uuid tokenadmin-api)"
if [[ -z "$scope_id" ]]; then
  scope_id="$(kc create client-scopes -r master -f "$HERE/tokenadmin-api-scope.json" -i)"
  echo "created client scope tokenadmin-api in master"
else
  kc update "client-scopes/$scope_id" -r master -f "$HERE/tokenadmin-api-scope.json"
  echo "updated client scope tokenadmin-api in master"
fi
mappers="$(kc get "client-scopes/$scope_id/protocol-mappers/models" -r master \
  --fields name --format csv --noquotes)"
if [[ $'\n'"$mappers"$'\n' != *$'\n'"tokenadmin audience"$'\n'* ]]; then
  kc create "client-scopes/$scope_id/protocol-mappers/models" -r master \
    -f "$HERE/tokenadmin-api-audience-mapper.json"
  echo "added the tokenadmin audience mapper to tokenadmin-api"
fi
client_upsert "$HERE/tokenadmin-cli-client.json" tokenadmin-cli
api_clients=("tokenadmin-cli:$UPSERTED_ID")
for client_id in ${TOKENADMIN_API_CLIENTS:-}; do
  id="$(client_uuid "$client_id")"
  if [[ -z "$id" ]]; then
    echo "bootstrap-master: no client $client_id in master (TOKENADMIN_API_CLIENTS)" >&2
    exit 1
  fi
  api_clients+=("$client_id:$id")
done
for entry in "${api_clients[@]}"; do
  kc update "clients/${entry#*:}/default-client-scopes/$scope_id" -r master
  echo "tokens of ${entry%%:*} carry audience tokenadmin"
done
echo "bootstrap-master: done"
