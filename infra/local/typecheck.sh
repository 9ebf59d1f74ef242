#!/usr/bin/env bash
# mypy over the package as it is installed: silake.schemas and silake.pipelines live in the top-level
# schemas/ and pipelines/ folders (setuptools package-dir), which mypy cannot follow, so it checks a tree of
# symlinks under build/typecheck/ that has the installed layout. Usage: infra/local/typecheck.sh [mypy args]
set -euo pipefail
cd "$(dirname "$0")/../.."
tree=build/typecheck/silake
rm -rf build/typecheck && mkdir -p "$tree"
for p in silake/*; do
  case "$(basename "$p")" in __pycache__) continue ;; esac
  ln -s "../../../$p" "$tree/"
done
ln -s ../../../schemas "$tree/schemas"
ln -s ../../../pipelines "$tree/pipelines"
exec .venv/bin/mypy "$@" "$tree"
