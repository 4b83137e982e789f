#!/usr/bin/env bash
# Nightly backup of Anju: the database, then the uploads folder, kept KEEP_DAYS days.
#
#   database  `flask backup-db`: pg_dump --format=custom on PostgreSQL (restore with pg_restore),
#             SQLite's online backup on the embedded database; both safe while the app runs.
#   uploads   an rsync snapshot per night; files that did not change are hard links to the
#             previous night's, so each night costs only the new photos.
#
# The database goes first: every file a saved row points at was written before that row was
# committed, so it is in the uploads snapshot taken afterwards.
#
# Run by anju-backup.timer as the anju user, or by hand: sudo -u anju deploy/backup/backup.sh
# Settings (environment): APP_DIR [/srv/anju], BACKUP_DIR [/var/backups/anju], KEEP_DAYS [14],
# ENV_FILE [/etc/anju/anju.env], BACKUP_REMOTE [unset: rsync target for an off-site copy, e.g.
# backup@vault:/srv/anju-backups/ — a backup on the same disk is no backup].
# Restore: README "Production" > Backups and restore.
set -euo pipefail

APP_DIR=${APP_DIR:-/srv/anju}
BACKUP_DIR=${BACKUP_DIR:-/var/backups/anju}
KEEP_DAYS=${KEEP_DAYS:-14}
ENV_FILE=${ENV_FILE:-/etc/anju/anju.env}
BACKUP_REMOTE=${BACKUP_REMOTE:-}

fail() { echo "backup: $*" >&2; exit 1; }

[[ $KEEP_DAYS =~ ^[1-9][0-9]*$ ]] || fail "KEEP_DAYS must be a whole number of days, at least 1"

# The same KEY=value lines systemd reads; read as data, never run as shell code. Variables
# already in the environment (from the systemd unit) win.
if [[ -r $ENV_FILE ]]; then
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
    [[ -n ${!BASH_REMATCH[1]+set} ]] || export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
  done < "$ENV_FILE"
fi
UPLOAD_FOLDER=${UPLOAD_FOLDER:-$APP_DIR/instance/uploads}

umask 077  # backups hold personal data
mkdir -p "$BACKUP_DIR/db" "$BACKUP_DIR/uploads"
exec 9> "$BACKUP_DIR/.lock"
flock -n 9 || fail "another backup is running"

stamp=$(date +%Y%m%d-%H%M%S)
case ${DATABASE_URL:-sqlite} in
  postgresql*) db_file="$BACKUP_DIR/db/anju-$stamp.dump" ;;
  sqlite*)     db_file="$BACKUP_DIR/db/anju-$stamp.sqlite3" ;;
  *)           fail "DATABASE_URL is neither PostgreSQL nor SQLite" ;;
esac
(cd "$APP_DIR" && "$APP_DIR/.venv/bin/flask" --app app backup-db "$db_file")

if [[ -d $UPLOAD_FOLDER ]]; then
  snapshot="$BACKUP_DIR/uploads/$stamp"
  link_dest=()
  if [[ -L $BACKUP_DIR/uploads/latest ]]; then
    link_dest=(--link-dest "$(readlink -f "$BACKUP_DIR/uploads/latest")")
  fi
  rsync -a --delete "${link_dest[@]}" "$UPLOAD_FOLDER/" "$snapshot.partial/"
  mv "$snapshot.partial" "$snapshot"
  ln -sfn "$stamp" "$BACKUP_DIR/uploads/latest"
  echo "uploads copied to $snapshot"
else
  echo "no uploads folder at $UPLOAD_FOLDER (nothing uploaded yet?)"
fi

# Retention by the date in the name (a snapshot's mtime is that of the uploads folder).
cutoff=$(date -d "-$KEEP_DAYS days" +%Y%m%d-%H%M%S)
for old in "$BACKUP_DIR"/db/anju-* "$BACKUP_DIR"/uploads/2*; do
  [[ -e $old ]] || continue
  name=${old##*/}
  name=${name#anju-}
  if [[ ${name:0:15} < $cutoff ]]; then
    rm -rf -- "$old"
    echo "removed $old"
  fi
done

if [[ -n $BACKUP_REMOTE ]]; then
  # -H keeps the snapshots' hard links; --delete carries the retention over.
  rsync -aH --delete --exclude .lock "$BACKUP_DIR/" "$BACKUP_REMOTE"
  echo "copied to $BACKUP_REMOTE"
fi
echo "backup $stamp done"
