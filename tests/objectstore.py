"""An object store for tests, as Beam's FileSystems sees one (scheme memstore://): flat keys, no folders,
no rename but copy-and-delete, no hard links. Whatever reaches the local disk behind FileSystems'
back fails here, as it would on gs:// or s3://."""

from __future__ import annotations

import io
import posixpath
import time

from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata, FileSystem

OBJECTS: dict[str, tuple[bytes, float]] = {}  # key -> (bytes, time written); one store per test process


class _Upload(io.BytesIO):
    """Bytes written become the object when the writer closes (an upload is atomic)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def close(self):
        if not self.closed:
            OBJECTS[self.path] = (self.getvalue(), time.time())
        super().close()


class MemoryObjectStore(FileSystem):
    @classmethod
    def scheme(cls):
        return "memstore"

    def join(self, basepath, *paths):
        return posixpath.join(basepath, *paths)

    def split(self, path):
        return posixpath.split(path)

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        for key, (data, written) in sorted(OBJECTS.items()):
            if key.startswith(dir_or_prefix):
                yield FileMetadata(key, len(data), written)

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        assert CompressionTypes.detect_compression_type(path) == CompressionTypes.UNCOMPRESSED or \
            compression_type == CompressionTypes.UNCOMPRESSED, path
        return _Upload(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        if path not in OBJECTS:
            raise BeamIOError("no such object", {path: FileNotFoundError(path)})
        return io.BytesIO(OBJECTS[path][0])

    def copy(self, source_file_names, destination_file_names):
        for source, destination in zip(source_file_names, destination_file_names):
            OBJECTS[destination] = (OBJECTS[source][0], time.time())

    def rename(self, source_file_names, destination_file_names):
        self.copy(source_file_names, destination_file_names)
        self.delete(source_file_names)

    def exists(self, path):
        return path in OBJECTS or any(key.startswith(path.rstrip("/") + "/") for key in OBJECTS)

    def size(self, path):
        return len(OBJECTS[path][0])

    def last_updated(self, path):
        return OBJECTS[path][1]

    def checksum(self, path):
        return str(hash(OBJECTS[path][0]))

    def metadata(self, path):
        return FileMetadata(path, self.size(path), self.last_updated(path))

    def delete(self, paths):
        for path in paths:
            if path.endswith("/"):  # a prefix, as gs:// and s3:// delete a "folder"
                for key in [k for k in OBJECTS if k.startswith(path)]:
                    del OBJECTS[key]
            elif path in OBJECTS:
                del OBJECTS[path]
            else:
                raise BeamIOError("no such object", {path: FileNotFoundError(path)})
