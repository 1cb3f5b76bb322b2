# Sourced by scripts/test: makes sure the headless browser the dashboard tests drive is
# installed, Debian's chromium and chromium-driver (the pair always matches). Installs them
# with apt-get (through sudo when not root) the first time; GRAPH_CKPT_NO_BROWSER_INSTALL=1
# leaves the machine alone (the browser tests then fail, saying what is missing).
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    if [ "${GRAPH_CKPT_NO_BROWSER_INSTALL:-}" = 1 ]; then
        echo "chromium/chromium-driver missing; GRAPH_CKPT_NO_BROWSER_INSTALL=1: not installing" >&2
    elif command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium and chromium-driver for the dashboard's browser tests" >&2
        sudo_cmd=()
        if [ "$(id -u)" -ne 0 ]; then
            sudo_cmd=(sudo)
        fi
        "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            chromium chromium-driver >&2 \
            || { "${sudo_cmd[@]}" apt-get update -q >&2 \
                && "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                    chromium chromium-driver >&2; }
    else
        echo "chromium and chromium-driver are missing and there is no apt-get: install them" \
            "to run the dashboard's browser tests" >&2
    fi
fi
