"""Which files Linq sends: the types refused by name, extension or content."""

from __future__ import annotations

REFUSED_MIME_TYPES = {
    "image/webp", "image/svg+xml", "audio/flac", "audio/x-flac", "audio/ogg", "application/ogg",
    "video/ogg", "application/x-msdownload", "application/x-dosexec", "application/x-executable",
    "application/vnd.microsoft.portable-executable", "application/x-mach-binary", "application/x-sh",
    "application/x-elf", "application/java-archive", "application/vnd.android.package-archive",
}  # fmt: skip
REFUSED_EXTENSIONS = {
    ".webp", ".svg", ".svgz", ".flac", ".ogg", ".oga", ".ogv", ".opus", ".exe", ".dll", ".msi", ".bat",
    ".cmd", ".com", ".scr", ".sh", ".app", ".apk", ".jar", ".elf", ".bin", ".dmg", ".ps1", ".vbs",
}  # fmt: skip
# Executables by their first bytes: PE ("MZ"), ELF, Mach-O (both byte orders, 32/64-bit, fat).
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


def refused_media(mime_type: str, filename: str, head: bytes = b"") -> str | None:
    """Why a file may not be sent (WebP, SVG, FLAC, OGG, executables), or None when it may."""
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if mime_type.lower() in REFUSED_MIME_TYPES or extension in REFUSED_EXTENSIONS:
        return f"{filename} ({mime_type}) is a type Linq does not send (WebP, SVG, FLAC, OGG, executables)."
    if (
        head.startswith(b"OggS")
        or head.startswith(b"fLaC")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    ):
        return f"{filename} is OGG, FLAC or WebP by its content, a type Linq does not send."
    if head.startswith(EXECUTABLE_MAGIC):
        return f"{filename} is an executable; Linq does not send executables."
    return None
