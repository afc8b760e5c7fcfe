"""A person at a lab VM's keyboard and screen: keys sent through QEMU's monitor, the screen read from its serial console.

QEMU's human monitor (``-monitor unix:SOCKET,server,nowait``) takes
``sendkey`` as a key press on the VM's own keyboard, which is what GRUB, the
kernel's console and sulogin read; ``screendump`` writes what the VM's display
shows as a picture. The VM's serial console, written to a file, carries the
same text (GRUB and the kernel are told to use both), so a test reads prompts
from there.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import LabError

#: QEMU's key names for the characters a person types that are not their own name.
KEYS = {
    "-": "minus",
    "\n": "ret",
    " ": "spc",
    ".": "dot",
    "/": "slash",
    "=": "equal",
    ",": "comma",
    "_": "shift-minus",
    ":": "shift-semicolon",
}
#: Keys a person presses that are not characters.
CTRL_X = "ctrl-x"
END = "end"
ESC = "esc"


@dataclass(frozen=True)
class Keyboard:
    """The keyboard (QEMU monitor ``socket``) and serial screen (``screen``, a file) of one VM."""

    socket: Path
    screen: Path
    #: time between two key presses: GRUB under an emulated CPU drops keys sent faster
    pace: float = 0.15

    def text(self) -> str:
        return self.screen.read_text(errors="replace") if self.screen.exists() else ""

    def mark(self) -> int:
        """Where the screen ends now: ``wait_for(..., after=mark)`` looks only at what comes later."""
        return len(self.text())

    def wait_for(self, text: str, timeout: float = 120, *, after: int = 0) -> str:
        """Wait until ``text`` shows on the screen (after position ``after``); the screen from there."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()[after:]
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise LabError(f"the VM's screen never showed {text!r} in {timeout:.0f} s; it ends with {screen[-400:]!r}")
            time.sleep(0.3)

    def monitor(self, *commands: str) -> None:
        """Type ``commands`` into QEMU's monitor, one line each."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket))
            for command in commands:
                s.sendall(command.encode() + b"\n")
                time.sleep(self.pace)

    def press(self, *keys: str) -> None:
        """Press each key (QEMU's names: ``e``, ``ret``, ``ctrl-x``, ``end``)."""
        self.monitor(*(f"sendkey {key}" for key in keys))

    def type(self, text: str) -> None:
        """Type ``text`` as a person would, key by key (letters, digits and the punctuation in ``KEYS``)."""
        keys = []
        for ch in text:
            if ch in KEYS:
                keys.append(KEYS[ch])
            elif ch.isascii() and ch.isalnum():
                keys.append(f"shift-{ch.lower()}" if ch.isupper() else ch)
            else:
                raise LabError(f"cannot type {ch!r} on the VM's keyboard", hint="use ASCII letters, digits and - . / = , _ :")
        self.press(*keys)

    def screendump(self, picture: Path) -> None:
        """Write what the VM's display shows to ``picture`` (PPM)."""
        self.monitor(f"screendump {picture}")
        deadline = time.monotonic() + 10
        while not (picture.exists() and picture.stat().st_size > 15):
            if time.monotonic() > deadline:
                raise LabError(f"QEMU wrote no screendump to {picture}")
            time.sleep(0.1)


#: What GRUB's menu shows each time it is drawn (with or without its countdown, which the first key press stops).
GRUB_MENU = "Press enter to boot the selected OS"


def grub_log_in(keyboard: Keyboard, key: str, user: str, password: str, *, after: int = 0, screendump: Path | None = None) -> int:
    """At GRUB's menu (drawn after ``after``), press ``key`` (``e`` or ``c``) and answer its prompts.

    Returns where the screen was before the password was typed: what GRUB
    shows from there is its answer. ``screendump`` takes a picture of the prompt.
    """
    keyboard.wait_for(GRUB_MENU, 300, after=after)
    keyboard.press(key)
    keyboard.wait_for("Enter username:", after=after)
    if screendump:
        keyboard.screendump(screendump)
    keyboard.type(f"{user}\n")
    keyboard.wait_for("Enter password:", after=after)
    at = keyboard.mark()
    keyboard.type(f"{password}\n")
    return at
