#!/usr/bin/python3
"""Asks an X11 window to close as a window manager does (WM_PROTOCOLS / WM_DELETE_WINDOW), for the
end-to-end tests: `wm-close.py NAME` closes every top-level window whose title is NAME. Exit 1 when
none was found. (Debian's python3-xlib; no window manager runs under the tests' Xvfb.)"""
import sys

from Xlib import X, display, protocol


def windows(d, w):
    yield w
    for c in w.query_tree().children:
        yield from windows(d, c)


def main():
    name = sys.argv[1]
    d = display.Display()
    protocols = d.intern_atom("WM_PROTOCOLS")
    delete = d.intern_atom("WM_DELETE_WINDOW")
    found = 0
    for w in windows(d, d.screen().root):
        try:
            title = w.get_wm_name()
        except Exception:
            continue
        if title != name:
            continue
        ev = protocol.event.ClientMessage(window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        w.send_event(ev, event_mask=X.NoEventMask)
        found += 1
    d.flush()
    d.close()
    sys.exit(0 if found else 1)


main()
