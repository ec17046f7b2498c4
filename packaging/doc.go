// Package packaging holds the Debian package build (debian/build.sh, run by
// `make deb`) and its tests: the unit's systemd-analyze exposure, the
// maintainer scripts, and, with LANED_DEB=1, an install into a clean Debian
// 12 chroot made with debootstrap (files, users, permissions, config parse,
// purge), without systemctl.
package packaging
