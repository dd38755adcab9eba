#!/usr/bin/env bash
# Tests the .deb that `make package` built, the way a user meets it (issue 9):
#   - its control fields (version from Cargo.toml, runtime Depends covering every library the two
#     binaries link) and contents (both binaries, desktop entry, icons in every size);
#   - `apt-get install ./<file>.deb`, then `berth --version`, `desktop-file-validate` on the installed entry;
#   - the installed app opened under Xvfb with a throw-away HOME: its window appears (screenshot in
#     test-artifacts/package-window.png), data lands in ~/.local/share/berth and logs in
#     ~/.local/state/berth/logs; a second launch hands over to the first and exits (single instance);
#   - `apt-get remove` takes it all away again.
# Builds nothing: run it through `make test-package` (which builds the package once) or after `make package`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
step() { echo "test-package: $*"; }

# The window part runs inside scripts/headless.sh (own D-Bus session bus and Xvfb display).
if [ "${1:-}" = --window ]; then
  app=$2 artifacts=$3
  home=$(mktemp -d)
  trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$home"' EXIT
  # A fresh user: no overrides, so the XDG defaults under $HOME are what is checked.
  export HOME=$home
  unset BERTH_DATA_DIR BERTH_LOG_DIR BERTH_LOG XDG_DATA_HOME XDG_STATE_HOME XDG_CONFIG_HOME
  "$app" >"$artifacts/package-app.log" 2>&1 &
  pid=$!
  win=""
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { cat "$artifacts/package-app.log" >&2; fail "the installed app exited at start"; }
    win=$(xdotool search --onlyvisible --name '^Berth$' 2>/dev/null | sed -n 1p || true)
    [ -n "$win" ] && break
    sleep 0.5
  done
  [ -n "$win" ] || { xwininfo -root -tree >&2 || true; fail "no window named Berth within 60 s"; }
  step "window $win is up: $(xwininfo -id "$win" | awk '/geometry/ {print $2}')"
  # The web view paints after the window maps; wait for the first view to have loaded (the sidebar
  # lists registries from the database, which exists by then).
  for _ in $(seq 1 60); do
    [ -f "$home/.local/share/berth/berth.sqlite" ] && break
    sleep 0.5
  done
  sleep 3
  import -window root "$artifacts/package-window.png"
  colours=$(identify -format '%k' "$artifacts/package-window.png")
  step "screenshot: $artifacts/package-window.png ($colours colours)"
  [ "$colours" -gt 50 ] || fail "the screenshot is (nearly) blank: $colours colours"

  [ -f "$home/.local/share/berth/berth.sqlite" ] || fail "no database in ~/.local/share/berth"
  logs=("$home"/.local/state/berth/logs/berth-desktop.*.log)
  [ -f "${logs[0]}" ] || fail "no log file in ~/.local/state/berth/logs"
  grep -q "Berth window starting" "${logs[0]}" || fail "the log file lacks the start line"

  # A second launch must not open a second window: it hands over to the first and exits 0.
  step "second launch"
  timeout 30 "$app" >"$artifacts/package-app-second.log" 2>&1 || fail "second launch: exit $? (see $artifacts/package-app-second.log)"
  kill -0 "$pid" 2>/dev/null || fail "the first instance died on the second launch"
  sleep 1
  n=$(xdotool search --onlyvisible --name '^Berth$' | wc -l)
  [ "$n" -eq 1 ] || fail "$n windows named Berth after a second launch"
  for _ in $(seq 1 20); do
    grep -q "second launch: focusing the running window" "${logs[0]}" && break
    sleep 0.5
  done
  grep -q "second launch: focusing the running window" "${logs[0]}" || fail "the first instance was not told"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  exit 0
fi

version=$(awk '/^\[workspace.package\]/ {s=1; next} /^\[/ {s=0} s && $1 == "version" {gsub(/"/, "", $3); print $3; exit}' Cargo.toml)
[ -n "$version" ] || fail "no version in Cargo.toml [workspace.package]"
shopt -s nullglob
debs=(target/release/bundle/deb/*_"${version}"_*.deb)
[ ${#debs[@]} -eq 1 ] || fail "expected one .deb for version $version in target/release/bundle/deb (run make package): ${debs[*]:-none}"
deb=$ROOT/${debs[0]}
artifacts=$ROOT/test-artifacts
mkdir -p "$artifacts"

## --- the package file ---------------------------------------------------------------------------
pkg=$(dpkg-deb -f "$deb" Package)
step "$deb: package $pkg"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "package version $(dpkg-deb -f "$deb" Version), Cargo.toml says $version"
depends=$(dpkg-deb -f "$deb" Depends)
step "Depends: $depends"
declared() { tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/[ (].*//' | grep -x "$1" >/dev/null; }
for p in libwebkit2gtk-4.1-0 libgtk-3-0; do declared "$p" || fail "Depends lacks $p"; done

contents=$(mktemp -d)
trap 'rm -rf "$contents"' EXIT
dpkg-deb -x "$deb" "$contents"
for f in usr/bin/berth usr/bin/berth-desktop; do [ -x "$contents/$f" ] || fail "$f is not in the package"; done
desktop_files=("$contents"/usr/share/applications/*.desktop)
[ ${#desktop_files[@]} -eq 1 ] || fail "expected one desktop entry, got ${#desktop_files[@]}"
for size in 16x16 24x24 32x32 48x48 64x64 128x128 256x256 512x512; do
  [ -f "$contents/usr/share/icons/hicolor/$size/apps/berth-desktop.png" ] || fail "no $size icon"
done
# Every shared library either binary links must come from a declared package.
for bin in usr/bin/berth usr/bin/berth-desktop; do
  for lib in $(objdump -p "$contents/$bin" | awk '/NEEDED/ {print $2}'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found {print $NF; found = 1}')
    [ -n "$path" ] || fail "$bin links $lib, which is not installed here"
    # dpkg knows a file by the path its package ships (/lib or /usr/lib, merged /usr or not).
    real=$(readlink -f "$path") owner=""
    for candidate in "$real" "${real#/usr}" "$path" "/usr$path"; do
      owner=$(dpkg -S "$candidate" 2>/dev/null | sed -n '1s/:.*//p') && [ -n "$owner" ] && break
    done
    [ -n "$owner" ] || fail "no package owns $path ($lib, linked by $bin)"
    declared "$owner" || fail "$bin links $lib from $owner, which Depends does not declare"
  done
done

## --- the .rpm (Fedora, RHEL, CentOS): metadata and file list, read with Debian's rpm -------------
rpms=(target/release/bundle/rpm/*-"${version}"-1.*.rpm)
[ ${#rpms[@]} -eq 1 ] || fail "expected one .rpm for version $version in target/release/bundle/rpm (run make package): ${rpms[*]:-none}"
rpmfile=$ROOT/${rpms[0]}
info=$(rpm -qip --nosignature "$rpmfile" 2>/dev/null) || fail "rpm -qip $rpmfile"
field() { awk -v k="$1" -F': ' '$1 ~ "^"k" *$" {print $2; exit}' <<<"$info" | sed 's/ *$//'; }
[ "$(field Name)" = berth ] || [ "$(field Name)" = "$pkg" ] || fail "rpm Name is '$(field Name)'"
[ "$(field Version)" = "$version" ] || fail "rpm Version $(field Version), Cargo.toml says $version"
[ "$(field Architecture)" = x86_64 ] || fail "rpm Architecture is '$(field Architecture)'"
step "$rpmfile: $(field Name) $(field Version)-$(field Release) $(field Architecture)"
requires=$(rpm -qpR --nosignature "$rpmfile" 2>/dev/null) || fail "rpm -qpR $rpmfile"
for r in webkit2gtk4.1 gtk3 libsoup3; do
  grep -qx "$r" <<<"$(sed 's/ .*//' <<<"$requires")" || fail "the rpm does not require $r (Requires: $(tr '\n' ' ' <<<"$requires"))"
done
step "rpm Requires: $(sed 's/ .*//' <<<"$requires" | grep -v '^rpmlib' | tr '\n' ' ')"
files=$(rpm -qlp --nosignature "$rpmfile" 2>/dev/null) || fail "rpm -qlp $rpmfile"
for f in /usr/bin/berth /usr/bin/berth-desktop /usr/share/icons/hicolor/512x512/apps/berth-desktop.png; do
  grep -qx "$f" <<<"$files" || fail "the rpm lacks $f"
done
grep -qx '/usr/share/applications/[^/]*\.desktop' <<<"$files" || fail "the rpm has no desktop entry"
step "rpm files: $(wc -l <<<"$files") (both binaries, the desktop entry, the icons)"

## --- install ------------------------------------------------------------------------------------
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep "install ok installed" >/dev/null; then
  fail "$pkg is already installed here; remove it first (apt-get remove $pkg)"
fi
cleanup() {
  rm -rf "$contents"
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep "install ok installed" >/dev/null; then
    $SUDO apt-get remove -y -qq "$pkg" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
step "apt-get install $deb"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$deb" >/dev/null

[ "$(command -v berth)" = /usr/bin/berth ] || fail "berth is not /usr/bin/berth: $(command -v berth || echo missing)"
out=$(berth --version)
[ "$out" = "berth $version" ] || fail "berth --version printed '$out', expected 'berth $version'"
step "berth --version: $out"

entry=$(dpkg -L "$pkg" | grep '^/usr/share/applications/.*\.desktop$')
desktop-file-validate "$entry" || fail "desktop-file-validate $entry"
for line in "Name=Berth" "Categories=Development;" "Exec=berth-desktop" "Icon=berth-desktop" "Type=Application"; do
  grep -qx "$line" "$entry" || fail "$entry lacks '$line'"
done
grep -q '^Comment=.' "$entry" || fail "$entry has no Comment"
step "desktop entry $entry is valid"
app=/usr/bin/$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$entry")

## --- the installed window -----------------------------------------------------------------------
scripts/headless.sh "$ROOT/scripts/test-package.sh" --window "$app" "$artifacts"

## --- remove -------------------------------------------------------------------------------------
step "apt-get remove $pkg"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq "$pkg" >/dev/null
[ ! -e /usr/bin/berth ] && [ ! -e "$app" ] && [ ! -e "$entry" ] || fail "files left after apt-get remove"
echo "test-package: 1 passed, 0 failed"
