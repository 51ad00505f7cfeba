#!/usr/bin/env bash
# Renders nspg_guard.role_graph() as a picture, on the client: psql fetches the DOT text and
# Graphviz's dot draws it here. The database server never runs dot (README, "Posture lint and
# evidence": why the picture is not made in the database).
#
#   bash scripts/role_graph.sh [-T svg|png|pdf] [-o FILE] [psql connection options…]
#   e.g. bash scripts/role_graph.sh -o roles.svg -h db.example -U auditor -d orders
#
# -T is the picture format (default svg), -o the file (default: standard output). The other
# options go to psql as they are. PSQL names the psql to use (default: psql on the PATH).
set -euo pipefail

format=svg
out=-
psql_args=()
while (($#)); do
    case $1 in
        -T) format=${2:?-T needs a format}; shift 2 ;;
        -o) out=${2:?-o needs a file}; shift 2 ;;
        *) psql_args+=("$1"); shift ;;
    esac
done
case $format in
    svg | png | pdf) ;;
    *) echo "role_graph.sh: format $format is not one of svg, png, pdf" >&2; exit 2 ;;
esac
if ! command -v dot >/dev/null; then
    echo "role_graph.sh: Graphviz's dot is not installed here (Debian: apt-get install graphviz)" >&2
    exit 1
fi

dot_text=$("${PSQL:-psql}" -X -A -t -v ON_ERROR_STOP=1 "${psql_args[@]}" -c 'SELECT nspg_guard.role_graph()')
if [ "$out" = - ]; then
    dot -T"$format" <<<"$dot_text"
else
    dot -T"$format" -o "$out" <<<"$dot_text"
fi
