#!/usr/bin/env bash
# The dashboards on the warehouse host: the Shiny for Python app (shiny/) as a
# systemd service, running as the OS user "dashboard", which PostgreSQL maps to
# its read-only role of the same name over the local socket (peer auth: no
# password anywhere).
#
# The Reliability page's Lambda error rates and ingest DLQ depth come from the health
# snapshot the notify function writes to the lake (--health-snapshot-bucket, read
# through the S3 gateway endpoint; clickstream/ops/health.py).
#
# The bundle holds shiny/, clickstream/ and python/ (its dependencies, wheels
# for this CPU installed at synth time), so nothing is fetched from the
# internet. Runs at every boot after warehouse.sh; idempotent.
set -euo pipefail

bundle="" bind=127.0.0.1 port=8000 database=clickstream user=dashboard python=3.11 region="" health_bucket=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bundle) bundle=$2 ;;
        --bind) bind=$2 ;;
        --port) port=$2 ;;
        --database) database=$2 ;;
        --user) user=$2 ;;
        --python) python=$2 ;;
        --region) region=$2 ;;
        --health-snapshot-bucket) health_bucket=$2 ;;
        *) echo "dashboards.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
[[ -n "${bundle}" ]] || { echo "dashboards.sh: --bundle is required" >&2; exit 2; }

home=/opt/clickstream/dashboards
log() { echo "dashboards: $*"; }

if ! command -v "python${python}" >/dev/null; then
    log "installing python${python}"
    dnf install -y --quiet "python${python}"
fi
if ! id "${user}" >/dev/null 2>&1; then
    useradd --system --home-dir "${home}" --shell /sbin/nologin "${user}"
fi

release="${home}/releases/$(sha256sum "${bundle}" | cut -c1-16)"
if [[ ! -d "${release}" ]]; then
    log "unpacking ${release}"
    mkdir -p "${release}"
    python3 -m zipfile -e "${bundle}" "${release}"
    chmod -R a+rX "${release}"
fi
ln -sfn "${release}" "${home}/current"

cat >/etc/systemd/system/clickstream-dashboards.service <<UNIT
# Written by infra/host/dashboards.sh at every boot.
[Unit]
Description=Clickstream dashboards (Shiny for Python)
After=network-online.target postgresql.service
Wants=postgresql.service

[Service]
User=${user}
WorkingDirectory=${home}/current
Environment=PYTHONPATH=${home}/current/python:${home}/current
Environment=DATABASE_URL=postgresql:///${database}?host=/run/postgresql&user=${user}
Environment=AWS_DEFAULT_REGION=${region:-us-east-1}
Environment=HEALTH_SNAPSHOT_BUCKET=${health_bucket}
ExecStart=/usr/bin/python${python} -m shiny run --host ${bind} --port ${port} shiny/app.py
Restart=always
RestartSec=5
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable clickstream-dashboards >/dev/null
systemctl restart clickstream-dashboards
log "serving on ${bind}:${port}"
