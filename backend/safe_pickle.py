"""Read pickles without running them: list the globals a pickle would import, and load array-only pickles.

Unpickling an unknown file can run any code it names (`os.system`, `builtins.eval`, ...). This module never
calls `pickle.load` on an unrestricted unpickler:

- `pickle_globals(path)` walks the opcodes with `pickletools` (nothing is imported or called) and returns the
  `module.name` of every global the pickle would import. Zip-based torch checkpoints (`.bin`/`.pt` written by
  `torch.save` since 1.6) are read through their `data.pkl` member; legacy torch files are several pickles in a
  row, and each is scanned.
- `load_array_pickle(path)` loads a pickle that holds only arrays: numpy arrays / dtypes / scalars, scipy.sparse
  csr/csc/coo matrices, joblib's array wrapper (the raw array bytes follow the wrapper in the stream: joblib
  `numpy_pickle.NumpyArrayWrapper.write_array`), and dicts / lists / tuples / str / numbers of those. Any other
  global is refused before it is imported, with an error naming it. Joblib's zlib / gzip / bz2 / xz / lzma
  compressed files are read with the standard library.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import pickletools
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["PickleFormatError", "UnsafePickleError", "pickle_globals", "load_array_pickle"]


class PickleFormatError(ValueError):
    """The file is not a (complete) pickle: truncated, corrupt or some other format. `globals_seen` are the
    globals read before the damage (they tell a damaged malicious file from a damaged weights file)."""

    def __init__(self, message: str, globals_seen: list[str] | None = None):
        super().__init__(message)
        self.globals_seen = list(globals_seen or [])


class UnsafePickleError(ValueError):
    """The pickle references code outside the allow-list (or an object the reader does not accept)."""

    def __init__(self, message: str, global_name: str = ""):
        super().__init__(message)
        self.global_name = global_name


# ------------------------------------------------------------------------------------------------ scanning

_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
               "BINUNICODE8"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"


def _scan_one(stream: BinaryIO, found: list[str]) -> bool:
    """Append the globals of the pickle at the stream's position to `found`; False when a joblib array
    payload (raw bytes that are not opcodes) starts and the scan must stop."""
    memo: dict[Any, Any] = {}
    pushed: list[Any] = []  # the last pushed values, enough to resolve STACK_GLOBAL's two strings
    no_value = object()
    for opcode, arg, _pos in pickletools.genops(stream):
        name = opcode.name
        if name in _STRING_OPS:
            pushed.append(arg.decode("latin-1") if isinstance(arg, bytes) else arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else no_value
        elif name in _PUT_OPS:
            memo[arg] = pushed[-1] if pushed else no_value
        elif name in _GET_OPS:
            pushed.append(memo.get(arg, no_value))
        elif name in ("GLOBAL", "INST"):
            found.append(arg.replace(" ", ".", 1))
            pushed.append(no_value)
        elif name == "STACK_GLOBAL":
            module, attr = (pushed[-2], pushed[-1]) if len(pushed) >= 2 else (no_value, no_value)
            found.append(f"{module}.{attr}" if isinstance(module, str) and isinstance(attr, str)
                         else "<a global whose name is computed>")
            pushed.append(no_value)
        elif name == "BUILD" and _JOBLIB_WRAPPER in found:
            return False  # joblib writes raw array bytes here; the allow-listed loader reads past them
        elif name not in ("FRAME", "PROTO"):
            pushed.append(no_value)
        del pushed[:-4]
    return True


def _scan_stream(stream: BinaryIO, what: str, several: bool) -> list[str]:
    found: list[str] = []
    scanned = 0
    while True:
        try:
            if not _scan_one(stream, found):
                break
        except (ValueError, EOFError) as error:  # genops: unknown opcode, or the stream ends before STOP
            if scanned:
                break  # bytes after complete pickles: a legacy torch file's raw storage data
            raise PickleFormatError(f"{what} is not a complete pickle (truncated, corrupt or another "
                                    f"format: {error})", found) from error
        scanned += 1
        if not several or stream.read(1) != b"\x80":  # another pickle (PROTO) follows in legacy torch files
            break
        stream.seek(-1, io.SEEK_CUR)
    return list(dict.fromkeys(found))


def pickle_globals(path: str | Path) -> list[str]:
    """The `module.name` globals the pickle at `path` would import, in order of first use, read without
    importing or calling anything. Zip-based torch checkpoints are read through their `data.pkl` member.

    Raises PickleFormatError when the file is not a complete pickle (truncated, corrupt, random bytes)."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
                if not members:
                    raise PickleFormatError(f"{path.name} is a zip archive without a data.pkl member "
                                            "(not a torch checkpoint)")
                with archive.open(members[0]) as member:
                    return _scan_stream(io.BytesIO(member.read()), f"{path.name}:{members[0]}", False)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
            raise PickleFormatError(f"{path.name} is a damaged zip archive ({error})") from error
    with open(path, "rb") as raw:
        try:
            stream = _open_decompressed(raw)
            return _scan_stream(stream, path.name, several=stream is raw)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:  # a damaged compressed joblib file
            raise PickleFormatError(f"{path.name} is a damaged compressed file ({error})") from error


# ------------------------------------------------------------------------------------------------ loading

# Stream prefixes of joblib's compressors (joblib/compressor.py); an uncompressed pickle starts with 0x80.
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZ", "bz2"), (b"\xfd7zXZ", "xz"), (b"\x5d\x00", "lzma"), (b"\x78", "zlib"))


class _ZlibReader(io.RawIOBase):
    """A read-only stream over a raw zlib stream (joblib's `compress=('zlib', n)` files)."""

    def __init__(self, raw: BinaryIO):
        self._raw, self._inflate, self._buffer, self._position = raw, zlib.decompressobj(), b"", 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:  # pickletools.genops reports positions
        return self._position

    def readinto(self, target) -> int:
        while not self._buffer and not self._inflate.eof:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                break
            self._buffer = self._inflate.decompress(chunk)
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        self._position += size
        return size


def _open_decompressed(raw: BinaryIO) -> BinaryIO:
    head = raw.read(5)
    raw.seek(0)
    for prefix, kind in _COMPRESSED:
        if head.startswith(prefix):
            if kind == "gzip":
                return gzip.GzipFile(fileobj=raw)
            if kind == "bz2":
                return bz2.BZ2File(raw)
            if kind in ("xz", "lzma"):
                return lzma.LZMAFile(raw)
            return io.BufferedReader(_ZlibReader(raw))
    return raw


class _JoblibArray:
    """Stands in for joblib's NumpyArrayWrapper: the pickle sets its attributes (shape, order, dtype,
    numpy_array_alignment_bytes); the array bytes that follow it in the stream are read by `_read`."""

    def _read(self, stream: BinaryIO) -> np.ndarray:
        state = self.__dict__
        shape, order, dtype = state.get("shape"), state.get("order", "C"), state.get("dtype")
        if (not isinstance(dtype, np.dtype) or not isinstance(shape, tuple) or order not in ("C", "F")
                or not all(isinstance(n, int) and n >= 0 for n in shape)):
            raise UnsafePickleError("a joblib array wrapper with a malformed shape, order or dtype")
        if dtype.hasobject:
            raise UnsafePickleError("a joblib array of Python objects (dtype object) is not an array of numbers")
        if state.get("numpy_array_alignment_bytes") is not None:  # joblib >= 1.2 pads the data to 16 bytes
            padding = stream.read(1)
            if len(padding) != 1 or len(stream.read(padding[0])) != padding[0]:
                raise EOFError("the file ends inside a joblib array's padding")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        data = bytearray()
        while len(data) < nbytes:  # chunked, so a lying shape fails at the end of the file, not in np.empty
            chunk = stream.read(min(nbytes - len(data), 1 << 24))
            if not chunk:
                raise EOFError(f"the file ends inside a joblib array ({len(data)} of {nbytes} bytes)")
            data += chunk
        flat = np.frombuffer(data, dtype=dtype)
        return flat.reshape(shape[::-1]).T if order == "F" else flat.reshape(shape)


def _numpy_attr(*names: str) -> Any:
    """numpy 2 moved `numpy.core` to `numpy._core`; find the function under either."""
    import importlib

    for module in ("numpy._core", "numpy.core"):
        try:
            target: Any = importlib.import_module(f"{module}.{names[0]}")
        except ImportError:
            continue
        return getattr(target, names[1])
    raise ImportError(".".join(names))


def _checked_dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise UnsafePickleError("numpy.dtype of Python objects (dtype object) was refused: an array of objects "
                                "is not an array of numbers", "numpy.dtype")
    return dtype


def _latin1_bytes(text: Any, encoding: str = "utf-8") -> bytes:
    """`_codecs.encode`, as protocol 0-2 pickles use it to carry bytes, and nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("_codecs.encode used for something other than bytes", "_codecs.encode")
    return text.encode("latin-1")


_SPARSE = ("csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "csc_array", "coo_array")


def _allowed(module: str, name: str) -> Any:
    """The object for an allow-listed global, or None. Only the names are matched: the module named in the
    file is never imported (old scipy pickles say `scipy.sparse.csr`, new ones `scipy.sparse._csr`)."""
    numpy_core = module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                            "numpy._core.numeric")
    if numpy_core and name in ("_reconstruct", "scalar", "_frombuffer"):
        return _numpy_attr(module.split(".")[-1], name)
    if module == "numpy" and name == "ndarray":
        return np.ndarray
    if module == "numpy" and name == "dtype":
        return _checked_dtype
    if module.startswith("scipy.sparse") and name in _SPARSE:
        import scipy.sparse

        return getattr(scipy.sparse, name)
    if f"{module}.{name}" == _JOBLIB_WRAPPER:
        return _JoblibArray
    if module == "_codecs" and name == "encode":
        return _latin1_bytes
    if module in ("copyreg", "copy_reg") and name == "_reconstructor":  # protocol 0/1 instances: object.__new__(cls)
        return _reconstructor
    if module in ("builtins", "__builtin__") and name == "object":
        return object
    return None


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    import scipy.sparse

    allowed = [getattr(scipy.sparse, n) for n in _SPARSE] + [_JoblibArray]
    if cls not in allowed or base is not object or state is not None:
        raise UnsafePickleError("copyreg._reconstructor used for something other than a sparse matrix",
                                "copyreg._reconstructor")
    return object.__new__(cls)


class _ArrayUnpickler(pickle._Unpickler):  # the pure-Python unpickler: BUILD can be hooked, as joblib does
    dispatch = pickle._Unpickler.dispatch.copy()

    def __init__(self, stream: BinaryIO, source: str):
        super().__init__(stream, encoding="latin1")  # Python 2 pickles (str data of numpy arrays): numpy's advice
        self._stream, self._source = stream, source

    def find_class(self, module: str, name: str) -> Any:
        target = _allowed(module, name)
        if target is None:
            raise UnsafePickleError(f"{self._source} references {module}.{name}, which is not an array type; "
                                    "it was not loaded", f"{module}.{name}")
        return target

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source} uses persistent ids (a torch checkpoint?), not plain arrays")

    def load_build(self) -> None:
        super().load_build()
        if isinstance(self.stack[-1], _JoblibArray):
            self.stack[-1] = self.stack[-1]._read(self._stream)

    dispatch[pickle.BUILD[0]] = load_build


def _checked(value: Any, where: str, depth: int = 0) -> Any:
    """`value` when it is arrays in plain containers; sparse matrices are rebuilt (and so validated) from their
    arrays, since the pickle set their attributes directly."""
    import scipy.sparse

    if depth > 32:
        raise UnsafePickleError(f"{where}: containers nested more than 32 deep")
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or type(value) is not np.ndarray:
            raise UnsafePickleError(f"{where}: an array of Python objects or of a subclass is not accepted")
        return value
    if isinstance(value, np.generic):
        if value.dtype.hasobject:
            raise UnsafePickleError(f"{where}: a numpy object scalar is not accepted")
        return value
    if scipy.sparse.issparse(value):
        try:
            state, cls = value.__dict__, type(value)
            shape = tuple(int(n) for n in state["_shape"])
            if value.format == "coo":
                coords = state.get("coords") or (state["row"], state["col"])
                arrays = [_checked(a, where, depth + 1) for a in (state["data"], *coords)]
                rebuilt = cls((arrays[0], tuple(arrays[1:])), shape=shape)
            else:
                arrays = [_checked(state[k], where, depth + 1) for k in ("data", "indices", "indptr")]
                rebuilt = cls(tuple(arrays), shape=shape)
                rebuilt.check_format(full_check=True)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise UnsafePickleError(f"{where}: a malformed scipy.sparse matrix ({error})") from error
        return rebuilt
    if isinstance(value, dict):
        bad_keys = [type(k).__name__ for k in value if not isinstance(k, (str, int))]
        if bad_keys:
            raise UnsafePickleError(f"{where}: a dict key of type {bad_keys[0]}")
        return {k: _checked(v, f"{where}[{k!r}]", depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_checked(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
    if value is None or isinstance(value, (str, bytes, bool, int, float, complex)):
        return value
    raise UnsafePickleError(f"{where}: an object of type {type(value).__name__} is not an array")


def load_array_pickle(path: str | Path) -> Any:
    """The content of a pickle that holds only arrays (numpy, scipy.sparse csr/csc/coo, joblib's array
    format, in dicts / lists / tuples), read with an allow-listed unpickler: any other global is refused
    before it is imported or called.

    Raises UnsafePickleError naming the global (or object) that is not an array, PickleFormatError when the
    file is truncated or not a pickle, FileNotFoundError when it does not exist."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        raise PickleFormatError(f"{path.name} is a zip archive (a torch checkpoint or an npz?), not a pickle of arrays")
    with open(path, "rb") as raw:
        stream = _open_decompressed(raw)
        try:
            value = _ArrayUnpickler(stream, path.name).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError,
                OSError, zlib.error, lzma.LZMAError, MemoryError) as error:
            raise PickleFormatError(f"{path.name} is not a readable array pickle (truncated, corrupt or another "
                                    f"format: {type(error).__name__}: {error})") from error
    return _checked(value, path.name)
