"""Signing keys on disk: generation, rotation and the published JWKS.

Layout of the keys directory (shared by every app node, e.g. one mounted
volume or secret):

* ``keyring.json`` - public metadata: ``kid``, ``alg``, ``created_at`` and
  ``activates_at`` (epoch seconds) of every key still published;
* ``<kid>.pem`` - the private key, mode 0600, never committed.

A rotation adds a key per algorithm that is published at once but signs only
after ``overlap`` seconds, so relying parties that cache ``/jwks.json`` learn it
first. A replaced key stays published ``retire_after`` seconds after its
successor starts signing, so tokens it signed still verify until they expire.
The ``kid`` is the key's RFC 7638 thumbprint.
"""

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

SUPPORTED_ALGS = ("RS256", "ES256")
KEYRING = "keyring.json"


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    alg: str
    created_at: int
    activates_at: int


def _generate(alg):
    parameters = {"alg": alg, "use": "sig"}
    if alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=parameters, private=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=parameters, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    key.ensure_kid()
    return key


class KeyStore:
    def __init__(self, directory: Path, clock, overlap: int = 3600, retire_after: int = 86400):
        self.directory = Path(directory)
        self.clock = clock
        self.overlap = overlap
        self.retire_after = retire_after
        self._cache_stamp = None
        self._entries: list[KeyEntry] = []
        self._private = {}
        self._published = None  # (which keys, JWKS dict, its JSON, ETag, KeySet): built once per key set

    # --- reading ---------------------------------------------------------------
    def _load(self):
        path = self.directory / KEYRING
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._ensure()
            stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._cache_stamp:
            data = json.loads(path.read_text())
            self._entries = [KeyEntry(**item) for item in data["keys"]]
            self._private = {}
            self._cache_stamp = stamp
        return self._entries

    def _private_key(self, entry: KeyEntry):
        if entry.kid not in self._private:
            pem = (self.directory / f"{entry.kid}.pem").read_bytes()
            cls = RSAKey if entry.alg == "RS256" else ECKey
            self._private[entry.kid] = cls.import_key(
                pem, parameters={"kid": entry.kid, "alg": entry.alg, "use": "sig"})
        return self._private[entry.kid]

    def signing_key(self, alg="RS256"):
        """The newest key of ``alg`` whose activation time has come."""
        now = self.clock.timestamp()
        active = [e for e in self._load() if e.alg == alg and e.activates_at <= now]
        if not active:
            raise LookupError(f"no active {alg} signing key")
        return self._private_key(max(active, key=lambda e: (e.activates_at, e.created_at)))

    def published(self) -> list[KeyEntry]:
        now = self.clock.timestamp()
        return [e for e in self._load() if not self._is_retired(e, self._entries, now)]

    def _published_set(self):
        """The published keys in every form the endpoints need, built again only
        when the set changes (a rotation, a key activating or retiring): every
        JWKS request and every token check would otherwise parse the keys again."""
        published = self.published()
        which = (self._cache_stamp, tuple(e.kid for e in published))
        cached = self._published
        if cached is None or cached[0] != which:
            document = {"keys": [self._private_key(e).as_dict(private=False, kid=e.kid) for e in published]}
            body = json.dumps(document, sort_keys=True).encode()
            cached = (which, document, body, hashlib.sha256(body).hexdigest()[:32], KeySet.import_key_set(document))
            self._published = cached
        return cached

    def public_jwks(self) -> dict:
        return self._published_set()[1]

    def public_jwks_json(self) -> tuple[bytes, str]:
        """The JWKS document serialised, and its ETag."""
        _, _, body, etag, _ = self._published_set()
        return body, etag

    def verification_keys(self) -> KeySet:
        return self._published_set()[4]

    def algorithms(self) -> list[str]:
        return list(SUPPORTED_ALGS)

    def _is_retired(self, entry, entries, now):
        successors = [e.activates_at for e in entries
                      if e.alg == entry.alg and e.activates_at > entry.activates_at and e.activates_at <= now]
        return bool(successors) and min(successors) + self.retire_after <= now

    # --- writing ---------------------------------------------------------------
    @contextmanager
    def _locked(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_unlocked(self):
        path = self.directory / KEYRING
        if not path.exists():
            return []
        return [KeyEntry(**item) for item in json.loads(path.read_text())["keys"]]

    def _write(self, entries):
        path = self.directory / KEYRING
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [e.__dict__ for e in entries]}, indent=2))
        os.replace(tmp, path)

    def _add(self, alg, activates_at):
        key = _generate(alg)
        target = self.directory / f"{key.kid}.pem"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.as_pem(private=True))
        return KeyEntry(kid=key.kid, alg=alg, created_at=self.clock.timestamp(), activates_at=activates_at)

    def _ensure(self):
        with self._locked():
            entries = self._read_unlocked()
            missing = [alg for alg in SUPPORTED_ALGS if not any(e.alg == alg for e in entries)]
            if missing or not (self.directory / KEYRING).exists():
                now = self.clock.timestamp()
                entries += [self._add(alg, now) for alg in missing]
                self._write(entries)

    def ensure(self):
        """Create the first keys if there are none (safe to call from many nodes)."""
        self._ensure()
        self._load()

    def rotate(self) -> list[KeyEntry]:
        """Add a new key per algorithm, activating after the overlap; drop retired keys."""
        # A fresh directory first gets keys that sign now: otherwise nothing
        # could sign until the successors activate. (Not nested in the lock
        # below: flock on a second descriptor of the same file would block.)
        self._ensure()
        with self._locked():
            entries = self._read_unlocked()
            now = self.clock.timestamp()
            new = [self._add(alg, now + self.overlap) for alg in SUPPORTED_ALGS]
            entries += new
            kept = [e for e in entries if not self._is_retired(e, entries, now)]
            for gone in set(entries) - set(kept):
                (self.directory / f"{gone.kid}.pem").unlink(missing_ok=True)
            self._write(kept)
        self._cache_stamp = None
        return new
