/*
 * mobileplans._iccid: the ICCID range lookup of IccidIndex, in C.
 *
 * A RangeTable holds one environment's ranges, sorted by start and free of overlaps, as
 * two arrays of 128-bit keys (key = length * 10^20 + value, the same key as
 * iccid_index.iccid_key, so ICCIDs of different lengths never interleave) and the owner
 * objects. ``table.resolve(iccid)`` parses the digits and binary-searches the starts:
 * the owner of the range holding the ICCID, or None. A string that is not 1-20 ASCII
 * digits is never in a range (None); callers validate identifiers before resolving.
 *
 * The pure-Python IccidIndex gives the same answers (tests compare both); this module
 * exists because the broker's lookup target (issue #2: >= 1,000,000 resolutions a second
 * on 100,000 ranges) is out of reach of bytecode on small cloud cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef unsigned __int128 key_t128;

typedef struct {
    PyObject_HEAD
    Py_ssize_t size;
    key_t128 *starts;
    key_t128 *ends;
    PyObject *owners; /* a tuple, same order as starts */
} RangeTable;

#define LENGTH_BASE (((key_t128)10000000000ULL) * 10000000000ULL)

static int
key_of_digits(const char *text, Py_ssize_t length, key_t128 *out)
{
    if (length < 1 || length > 20) {
        return 0;
    }
    key_t128 value = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < '0' || c > '9') {
            return 0;
        }
        value = value * 10 + (c - '0');
    }
    *out = (key_t128)length * LENGTH_BASE + value;
    return 1;
}

static int
key_of_pylong(PyObject *hi_obj, PyObject *lo_obj, key_t128 *out)
{
    unsigned long long hi = PyLong_AsUnsignedLongLong(hi_obj);
    if (hi == (unsigned long long)-1 && PyErr_Occurred()) {
        return 0;
    }
    unsigned long long lo = PyLong_AsUnsignedLongLong(lo_obj);
    if (lo == (unsigned long long)-1 && PyErr_Occurred()) {
        return 0;
    }
    *out = ((key_t128)hi << 64) | (key_t128)lo;
    return 1;
}

static void
RangeTable_dealloc(RangeTable *self)
{
    PyMem_Free(self->starts);
    PyMem_Free(self->ends);
    Py_XDECREF(self->owners);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* RangeTable(start_hi, start_lo, end_hi, end_lo, owners): five sequences of one length,
 * keys split into their high and low 64 bits, sorted by start. */
static int
RangeTable_init(RangeTable *self, PyObject *args, PyObject *kwds)
{
    PyObject *seqs[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &seqs[0], &seqs[1], &seqs[2], &seqs[3], &seqs[4])) {
        return -1;
    }
    PyObject *fast[5] = {NULL, NULL, NULL, NULL, NULL};
    int result = -1;
    for (int i = 0; i < 5; i++) {
        fast[i] = PySequence_Fast(seqs[i], "RangeTable arguments must be sequences");
        if (fast[i] == NULL) {
            goto done;
        }
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast[0]);
    for (int i = 1; i < 5; i++) {
        if (PySequence_Fast_GET_SIZE(fast[i]) != n) {
            PyErr_SetString(PyExc_ValueError, "RangeTable arguments differ in length");
            goto done;
        }
    }
    PyMem_Free(self->starts);
    PyMem_Free(self->ends);
    self->starts = PyMem_Malloc(sizeof(key_t128) * (size_t)(n ? n : 1));
    self->ends = PyMem_Malloc(sizeof(key_t128) * (size_t)(n ? n : 1));
    if (self->starts == NULL || self->ends == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!key_of_pylong(PySequence_Fast_GET_ITEM(fast[0], i),
                           PySequence_Fast_GET_ITEM(fast[1], i), &self->starts[i]) ||
            !key_of_pylong(PySequence_Fast_GET_ITEM(fast[2], i),
                           PySequence_Fast_GET_ITEM(fast[3], i), &self->ends[i])) {
            goto done;
        }
        if (i > 0 && self->starts[i] <= self->starts[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "RangeTable starts must be strictly increasing");
            goto done;
        }
    }
    Py_XSETREF(self->owners, PySequence_Tuple(fast[4]));
    if (self->owners == NULL) {
        goto done;
    }
    self->size = n;
    result = 0;
done:
    for (int i = 0; i < 5; i++) {
        Py_XDECREF(fast[i]);
    }
    return result;
}

static PyObject *
RangeTable_resolve(RangeTable *self, PyObject *iccid)
{
    if (!PyUnicode_Check(iccid)) {
        PyErr_SetString(PyExc_TypeError, "resolve() takes the ICCID as str");
        return NULL;
    }
    key_t128 key;
    if (!PyUnicode_IS_ASCII(iccid) ||
        !key_of_digits((const char *)PyUnicode_1BYTE_DATA(iccid), PyUnicode_GET_LENGTH(iccid),
                       &key)) {
        Py_RETURN_NONE;
    }
    /* the last start <= key */
    Py_ssize_t lo = 0, hi = self->size;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (self->starts[mid] <= key) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    Py_ssize_t position = lo - 1;
    if (position >= 0 && key <= self->ends[position]) {
        PyObject *owner = PyTuple_GET_ITEM(self->owners, position);
        Py_INCREF(owner);
        return owner;
    }
    Py_RETURN_NONE;
}

static Py_ssize_t
RangeTable_len(RangeTable *self)
{
    return self->size;
}

static PyMethodDef RangeTable_methods[] = {
    {"resolve", (PyCFunction)RangeTable_resolve, METH_O,
     "resolve(iccid) -> the owner of the range holding iccid, or None"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods RangeTable_as_sequence = {
    .sq_length = (lenfunc)RangeTable_len,
};

static PyTypeObject RangeTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mobileplans._iccid.RangeTable",
    .tp_basicsize = sizeof(RangeTable),
    .tp_dealloc = (destructor)RangeTable_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Sorted, non-overlapping ICCID ranges of one environment.",
    .tp_methods = RangeTable_methods,
    .tp_as_sequence = &RangeTable_as_sequence,
    .tp_init = (initproc)RangeTable_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef iccid_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mobileplans._iccid",
    .m_doc = "ICCID range lookup in C (see iccid_index.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__iccid(void)
{
    if (PyType_Ready(&RangeTableType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&iccid_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&RangeTableType);
    if (PyModule_AddObject(module, "RangeTable", (PyObject *)&RangeTableType) < 0) {
        Py_DECREF(&RangeTableType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
