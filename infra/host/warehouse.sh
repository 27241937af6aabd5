#!/usr/bin/env bash
# The warehouse host's bootstrap: PostgreSQL installed, configured, its roles
# and database created, and the migrations in sql/ applied in order with psql.
#
# Runs at every boot (cloud-init scripts-user, always), so every step is
# idempotent: a deploy that ships new migrations stops and starts the host, and
# this applies the ones not applied yet. Packages come from the Amazon Linux
# repositories, which are S3 buckets reached through the VPC's S3 gateway
# endpoint (no internet route). Logs: /var/log/cloud-init-output.log.
set -euo pipefail

region="" secret_name="" migrations="" pg_major=16 database=clickstream port=5432
pipeline_user=pipeline dashboard_user=dashboard client_cidr=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --region) region=$2 ;;
        --secret-name) secret_name=$2 ;;
        --migrations) migrations=$2 ;;
        --pg-major) pg_major=$2 ;;
        --database) database=$2 ;;
        --port) port=$2 ;;
        --pipeline-user) pipeline_user=$2 ;;
        --dashboard-user) dashboard_user=$2 ;;
        --client-cidr) client_cidr=$2 ;;
        *) echo "warehouse.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
for required in region secret_name migrations client_cidr; do
    [[ -n "${!required}" ]] || { echo "warehouse.sh: --${required//_/-} is required" >&2; exit 2; }
done

pgdata=/var/lib/pgsql/data
log() { echo "warehouse: $*"; }
as_postgres() { sudo -u postgres "$@"; }

install_postgres() {
    if ! rpm -q "postgresql${pg_major}-server" >/dev/null 2>&1; then
        log "installing PostgreSQL ${pg_major}"
        dnf install -y --quiet "postgresql${pg_major}" "postgresql${pg_major}-server"
    fi
    if [[ ! -f "${pgdata}/PG_VERSION" ]]; then
        log "initialising the cluster"
        postgresql-setup --initdb
    fi
}

configure_postgres() {
    # TLS for the functions' connections (they use sslmode=require): a self-signed
    # certificate made once; traffic never leaves the VPC.
    if [[ ! -f "${pgdata}/server.crt" ]]; then
        openssl req -new -x509 -days 3650 -nodes -subj "/CN=clickstream-warehouse" \
            -keyout "${pgdata}/server.key" -out "${pgdata}/server.crt" 2>/dev/null
        chown postgres:postgres "${pgdata}/server.key" "${pgdata}/server.crt"
        chmod 600 "${pgdata}/server.key"
    fi
    cat >"${pgdata}/clickstream.conf" <<CONF
# Written by infra/host/warehouse.sh at every boot; edit that file, not this one.
listen_addresses = '*'
port = ${port}
ssl = on
password_encryption = scram-sha-256
max_connections = 50
shared_buffers = 256MB
effective_cache_size = 1GB
work_mem = 16MB
maintenance_work_mem = 128MB
log_min_duration_statement = 2000
CONF
    if ! grep -q "^include_if_exists = 'clickstream.conf'" "${pgdata}/postgresql.conf"; then
        echo "include_if_exists = 'clickstream.conf'" >>"${pgdata}/postgresql.conf"
    fi
    cat >"${pgdata}/pg_hba.conf" <<HBA
# Written by infra/host/warehouse.sh at every boot.
# TYPE  DATABASE     USER               ADDRESS          METHOD
local   all          postgres                            peer
local   ${database}  ${dashboard_user}                   peer
hostssl ${database}  ${pipeline_user}   ${client_cidr}   scram-sha-256
HBA
    chown postgres:postgres "${pgdata}/clickstream.conf" "${pgdata}/pg_hba.conf"
    chmod 600 "${pgdata}/pg_hba.conf"
    systemctl enable postgresql >/dev/null
    systemctl restart postgresql
}

pipeline_password() {
    # Through Parameter Store's reference to the Secrets Manager secret: the host
    # has an SSM endpoint already and needs no Secrets Manager endpoint.
    aws ssm get-parameter --region "${region}" --with-decryption \
        --name "/aws/reference/secretsmanager/${secret_name}" \
        --query Parameter.Value --output text |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["password"])'
}

create_roles_and_database() {
    log "roles and database"
    PIPELINE_PASSWORD="$(pipeline_password)" as_postgres --preserve-env=PIPELINE_PASSWORD \
        psql --quiet -v ON_ERROR_STOP=1 <<SQL
\getenv pipeline_password PIPELINE_PASSWORD
select format('create role %I login', '${pipeline_user}')
where not exists (select from pg_roles where rolname = '${pipeline_user}') \gexec
select format('create role %I login', '${dashboard_user}')
where not exists (select from pg_roles where rolname = '${dashboard_user}') \gexec
alter role ${pipeline_user} password :'pipeline_password';
select format('create database %I owner %I', '${database}', '${pipeline_user}')
where not exists (select from pg_database where datname = '${database}') \gexec
grant pg_read_all_data to ${dashboard_user};
SQL
}

apply_migrations() {
    local dir
    dir="$(mktemp -d)"
    python3 -m zipfile -e "${migrations}" "${dir}"
    chmod -R a+rX "${dir}"
    as_postgres psql --quiet -v ON_ERROR_STOP=1 -d "${database}" <<SQL
set role ${pipeline_user};
create table if not exists schema_migrations (
    filename text primary key,
    applied_at timestamptz not null default now()
);
SQL
    local file name applied
    # Numbered files (001_..., 002_...) in version order.
    while IFS= read -r file; do
        name="$(basename "${file}")"
        applied="$(as_postgres psql -tA -d "${database}" \
            -c "select 1 from schema_migrations where filename = '${name}'")"
        if [[ "${applied}" == "1" ]]; then
            continue
        fi
        log "applying ${name}"
        as_postgres psql --quiet -v ON_ERROR_STOP=1 -d "${database}" --single-transaction \
            -c "set role ${pipeline_user}" \
            -f "${file}" \
            -c "insert into schema_migrations (filename) values ('${name}')"
    done < <(find "${dir}" -maxdepth 1 -name '*.sql' | sort -V)
    rm -rf "${dir}"
}

install_postgres
configure_postgres
create_roles_and_database
apply_migrations
log "ready"
