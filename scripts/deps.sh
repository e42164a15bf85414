#!/bin/sh
# Make sure the Debian packages named on the command line are installed:
# install the missing ones with apt-get (as root, or through sudo), or say
# exactly which are missing and fail.
set -eu
missing=
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "weft needs these Debian packages:$missing" >&2
	echo "install them as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# pkg:arch (multiarch) needs that architecture known to dpkg first.
for pkg in $missing; do
	case $pkg in
	*:*)
		arch=${pkg#*:}
		dpkg --print-foreign-architectures | grep -qx "$arch" ||
			$sudo dpkg --add-architecture "$arch" ;;
	esac
done
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq $missing >/dev/null
