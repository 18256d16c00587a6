# Shared by scripts/test.sh and scripts/demo.sh: find Python 3.12 and keep .venv current.
find_python312() {
  for candidate in python3.12 /root/.pyenv/versions/3.12*/bin/python3.12 \
      "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  echo "Python 3.12 is needed (Saleor 3.23 runs on it) and none was found" >&2
  return 1
}

# ensure_venv EXTRA: create .venv with Python 3.12 and install the package with [EXTRA].
ensure_venv() {
  local extra=$1 stamp=".venv/.installed-$1"
  if [ ! -x .venv/bin/python ]; then
    "$(find_python312)" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing the package and its dependencies into .venv (log: .venv/pip.log)"
    # pip's output (mirror warnings, build deprecations) is shown only when it fails.
    if ! { .venv/bin/python -m pip install --upgrade pip &&
           .venv/bin/python -m pip install -e ".[$extra]"; } >.venv/pip.log 2>&1; then
      tail -n 40 .venv/pip.log >&2
      return 1
    fi
    touch "$stamp"
  fi
}
