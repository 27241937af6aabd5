#!/usr/bin/env bash
# The warehouse host's bootstrap: PostgreSQL installed, configured, its roles
# and database created, the migrations in sql/ applied in order with psql, the
# repeatable definitions of sql/functions/ applied again, and the backfills of
# sql/backfills/ not run yet run once.
#
# Runs at every boot (cloud-init scripts-user, always), so every step is
# idempotent: a deploy that ships new migrations stops and starts the host, and
# this applies the ones not applied yet. Packages come from the Amazon Linux
# repositories, which are S3 buckets reached through the VPC's S3 gateway
# endpoint (no internet route). Logs: /var/log/cloud-init-output.log.
#
# tests/infra sources this file (main does not run then) and runs the role and
# migration steps against a throwaway PostgreSQL.
set -euo pipefail

pgdata=/var/lib/pgsql/data
region="" secret_name="" migrations="" pg_major=16 database=clickstream port=5432
pipeline_user=pipeline dashboard_user=dashboard client_cidr=""
migrations_table=etl_schema_migrations backfills_table=etl_schema_backfills lock_key=""

log() { echo "warehouse: $*"; }
as_postgres() { sudo -u postgres --preserve-env=PIPELINE_PASSWORD "$@"; }

parse_args() {
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
            --migrations-table) migrations_table=$2 ;;
            --backfills-table) backfills_table=$2 ;;
            --lock-key) lock_key=$2 ;;
            *) echo "warehouse.sh: unknown argument $1" >&2; exit 2 ;;
        esac
        shift 2
    done
    local required
    for required in region secret_name migrations client_cidr lock_key; do
        [[ -n "${!required}" ]] || { echo "warehouse.sh: --${required//_/-} is required" >&2; exit 2; }
    done
}

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

ensure_swap() {
    # The default t4g.micro has 1 GiB for PostgreSQL and the dashboards: 1 GiB of swap on the
    # encrypted root volume absorbs a peak instead of the OOM killer. Made once, enabled at boot.
    if [[ ! -f /swapfile ]]; then
        dd if=/dev/zero of=/swapfile bs=1M count=1024 status=none
        chmod 600 /swapfile
        mkswap /swapfile >/dev/null
    fi
    if ! swapon --show=NAME --noheadings | grep -qx /swapfile; then
        swapon /swapfile
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
effective_cache_size = 512MB
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
    # The password travels in the environment of psql only (never on a command line).
    log "roles and database"
    PIPELINE_PASSWORD="$(pipeline_password)" as_postgres psql --quiet -v ON_ERROR_STOP=1 -d postgres <<SQL
\\getenv pipeline_password PIPELINE_PASSWORD
select format('create role %I login', '${pipeline_user}')
where not exists (select from pg_roles where rolname = '${pipeline_user}') \\gexec
select format('create role %I login', '${dashboard_user}')
where not exists (select from pg_roles where rolname = '${dashboard_user}') \\gexec
alter role ${pipeline_user} password :'pipeline_password';
select format('create database %I owner %I', '${database}', '${pipeline_user}')
where not exists (select from pg_database where datname = '${database}') \\gexec
grant pg_read_all_data to ${dashboard_user};
SQL
}

rewritten_olds() {
    # The old checksums that $1/migrate/rewritten.txt lists for version $2 (NNN) with the new
    # checksum $3, as a SQL list ('a', 'b'); nothing when none. Lines: NNN old new reason.
    local list="$1/migrate/rewritten.txt" version old new reason olds=""
    [[ -f "${list}" ]] || return 0
    while read -r version old new reason; do
        [[ -z "${version}" || "${version}" == \#* ]] && continue
        if [[ "${version}" == "$2" && "${new}" == "$3" ]]; then
            olds+="${olds:+, }'${old}'"
        fi
    done <"${list}"
    echo "${olds}"
}

check_rewritten() {
    # Every line of $1/migrate/rewritten.txt is NNN old_sha256 new_sha256 reason (or a # comment).
    local list="$1/migrate/rewritten.txt" version old new reason
    [[ -f "${list}" ]] || return 0
    while read -r version old new reason; do
        [[ -z "${version}" || "${version}" == \#* ]] && continue
        if [[ ! "${version}" =~ ^[0-9]{3}$ || ! "${old}" =~ ^[0-9a-f]{64}$ || ! "${new}" =~ ^[0-9a-f]{64}$ || -z "${reason}" ]]; then
            echo "warehouse: migrate/rewritten.txt: expected NNN old_sha256 new_sha256 reason, got: ${version} ${old} ${new} ${reason}" >&2
            return 1
        fi
    done <"${list}"
}

migrations_script() {
    # A psql script applying the NNN_name.sql files of directory $1 (its top level
    # only) with the same bookkeeping as clickstream/core/migrate.py
    # (`clickstream db migrate`): the table etl_schema_migrations (version, name, sha256 checksum),
    # one transaction per file, an applied file that changed is refused unless
    # $1/migrate/rewritten.txt lists its recorded checksum as old and its checksum on disk as new
    # (then the new one is recorded, and its backfill as done), and the same advisory lock, so
    # two migrators take turns. Then, as migrate.py does on every run, each file of
    # $1/functions/ (create or replace of a function or view) in name order, each in its own
    # transaction, not recorded. Last, each file of $1/backfills/ (named as its migration) whose
    # migration is applied and that etl_schema_backfills does not list, in its own transaction
    # with its row there. Objects belong to the pipeline role.
    local dir=$1 file name i
    local -a files=() backfills=() functions=() labels=() versions=() names=() checksums=() olds=()
    check_rewritten "${dir}" || return 1
    mapfile -t files < <(find "${dir}" -maxdepth 1 -type f -name '*.sql' | sort)
    if [[ -d "${dir}/backfills" ]]; then
        mapfile -t backfills < <(find "${dir}/backfills" -maxdepth 1 -type f -name '*.sql' | sort)
    fi
    if [[ -d "${dir}/functions" ]]; then
        mapfile -t functions < <(find "${dir}/functions" -maxdepth 1 -type f -name '*.sql' | sort)
    fi
    for file in "${files[@]}"; do
        name="$(basename "${file}" .sql)"
        if [[ ! "${name}" =~ ^([0-9]{3})_([a-z0-9_]+)$ ]]; then
            echo "warehouse: ${name}.sql is not named NNN_lowercase_name.sql" >&2
            return 1
        fi
        labels+=("${name}")
        versions+=("$((10#${BASH_REMATCH[1]}))")
        names+=("${BASH_REMATCH[2]}")
        checksums+=("$(sha256sum "${file}" | cut -d' ' -f1)")
        olds+=("$(rewritten_olds "${dir}" "${BASH_REMATCH[1]}" "${checksums[-1]}")")
    done
    echo "\\set ON_ERROR_STOP on"
    echo "select pg_advisory_lock(${lock_key});"
    echo "set role ${pipeline_user};"
    echo "create table if not exists ${migrations_table} ("
    echo "    version integer primary key, name text not null, checksum text not null,"
    echo "    applied_at timestamptz not null default now());"
    echo "create table if not exists ${backfills_table} ("
    echo "    version integer primary key, name text not null,"
    echo "    applied_at timestamptz not null default now());"
    echo "reset role;"
    # every applied file checked first, as migrate.py does, before anything is changed
    for i in "${!files[@]}"; do
        cat <<PSQL
do \$\$ begin
    if exists (select from ${migrations_table} where version = ${versions[i]} and checksum <> '${checksums[i]}'${olds[i]:+ and checksum not in (${olds[i]})}) then
        raise exception '${labels[i]}.sql changed after it was applied: add a new numbered migration instead';
    end if;
end \$\$;
PSQL
    done
    # the rewritten files: their new checksum recorded, and their backfill as done (the old file ran it)
    for i in "${!files[@]}"; do
        [[ -n "${olds[i]}" ]] || continue
        cat <<PSQL
select exists (select from ${migrations_table} where version = ${versions[i]} and checksum in (${olds[i]})) as rewritten \\gset
\\if :rewritten
\\echo warehouse: accepting ${labels[i]}.sql as rewritten (migrate/rewritten.txt)
begin;
update ${migrations_table} set checksum = '${checksums[i]}' where version = ${versions[i]};
PSQL
        if [[ -f "${dir}/backfills/${labels[i]}.sql" ]]; then
            echo "insert into ${backfills_table} (version, name) values (${versions[i]}, '${names[i]}') on conflict (version) do nothing;"
        fi
        echo "commit;"
        echo "\\endif"
    done
    for i in "${!files[@]}"; do
        echo "select not exists (select from ${migrations_table} where version = ${versions[i]}) as pending \\gset"
        echo "\\if :pending"
        echo "\\echo warehouse: applying ${labels[i]}.sql"
        as_pipeline "${files[i]}" "insert into ${migrations_table} (version, name, checksum) values (${versions[i]}, '${names[i]}', '${checksums[i]}');"
        echo "\\endif"
    done
    for file in "${functions[@]}"; do
        as_pipeline "${file}"
    done
    echo "\\echo warehouse: ${#functions[@]} files of functions/ defined"
    for file in "${backfills[@]}"; do
        name="$(basename "${file}" .sql)"
        if [[ ! "${name}" =~ ^([0-9]{3})_([a-z0-9_]+)$ || ! -f "${dir}/${name}.sql" ]]; then
            echo "warehouse: backfills/${name}.sql is named as the migration it belongs to, and there is no ${name}.sql" >&2
            return 1
        fi
        echo "select exists (select from ${migrations_table} where version = $((10#${BASH_REMATCH[1]})))"
        echo "    and not exists (select from ${backfills_table} where version = $((10#${BASH_REMATCH[1]}))) as backfill_due \\gset"
        echo "\\if :backfill_due"
        echo "\\echo warehouse: backfilling backfills/${name}.sql"
        as_pipeline "${file}" "insert into ${backfills_table} (version, name) values ($((10#${BASH_REMATCH[1]})), '${BASH_REMATCH[2]}');"
        echo "\\endif"
    done
    echo "select pg_advisory_unlock(${lock_key});"
}

as_pipeline() {
    # A transaction running the file $1 as the pipeline role, then the statement $2 if any (its
    # bookkeeping row).
    echo "begin;"
    echo "set local role ${pipeline_user};"
    echo "\\i $1"
    if [[ -n "${2:-}" ]]; then
        echo "$2"
    fi
    echo "commit;"
}

apply_migrations() {
    local dir
    dir="$(mktemp -d)"
    python3 -m zipfile -e "${migrations}" "${dir}"
    chmod -R a+rX "${dir}"
    migrations_script "${dir}" >"${dir}/apply.psql"
    as_postgres psql --quiet -d "${database}" -f "${dir}/apply.psql"
    rm -rf "${dir}"
}

main() {
    parse_args "$@"
    install_postgres
    ensure_swap
    configure_postgres
    create_roles_and_database
    apply_migrations
    log "ready"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
