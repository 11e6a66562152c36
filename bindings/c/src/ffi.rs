//! Arguments from C: NULL checks, strings, byte buffers, arrays, handles and output slots.
//! Every raw pointer the library reads or writes goes through these functions, so the
//! unsafety of the C ABI is in one place. Each takes the argument's name for the message.

use crate::error::{Failure, FfiResult};
use std::ffi::{c_char, CStr};

/// A string argument: non-NULL, NUL-terminated, UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(Failure::invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string alive for 'a.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map_err(|_| Failure::invalid(format!("{name} is not valid UTF-8")))
}

/// A byte buffer argument: `(NULL, 0)` is "no buffer" (a null key or value), `(NULL, n > 0)`
/// is refused.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes valid for `'a`.
pub unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize, name: &str) -> FfiResult<Option<&'a [u8]>> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(None);
        }
        return Err(Failure::invalid(format!(
            "{name} is NULL but its length is {len}"
        )));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes alive for 'a.
    Ok(Some(unsafe { std::slice::from_raw_parts(ptr, len) }))
}

/// An array argument of `len` elements; NULL is accepted only when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` initialised elements valid for `'a`.
pub unsafe fn array_arg<'a, T>(ptr: *const T, len: usize, name: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::invalid(format!(
            "{name} is NULL but its length is {len}"
        )));
    }
    // SAFETY: non-NULL, and the caller promises `len` elements alive for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A handle argument.
///
/// # Safety
/// `ptr` is NULL or a handle this library returned and that has not been freed.
pub unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: the caller promises a live handle or NULL; `as_ref` maps NULL to None.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::invalid(format!("{name} is NULL")))
}

/// An output slot, checked before the work so that a NULL slot fails without side effects;
/// written with [`Out::write`] once the call has succeeded.
pub struct Out<T>(*mut T);

impl<T> Out<T> {
    /// A required output.
    pub fn required(ptr: *mut T, name: &str) -> FfiResult<Self> {
        if ptr.is_null() {
            return Err(Failure::invalid(format!("{name} is NULL")));
        }
        Ok(Out(ptr))
    }

    /// An output the caller may skip by passing NULL.
    pub fn optional(ptr: *mut T) -> Self {
        Out(ptr)
    }

    /// Stores `value` (nothing for a skipped optional output).
    ///
    /// # Safety
    /// The pointer given to `required`/`optional` is NULL or valid for writing a `T`.
    pub unsafe fn write(self, value: T) {
        if !self.0.is_null() {
            // SAFETY: non-NULL and, by the caller's promise, writable. `write` does not drop
            // the (uninitialised, C-owned) previous contents.
            unsafe { self.0.write(value) }
        }
    }
}

/// Moves a handle to C.
pub fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes a handle back from C for freeing; `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or a handle from [`into_handle`] that C will not use again.
pub unsafe fn take_handle<T>(ptr: *mut T) -> Option<Box<T>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: made by `Box::into_raw` in `into_handle`, and the caller gives up its copy.
    Some(unsafe { Box::from_raw(ptr) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::strom_result;

    #[test]
    fn strings_are_checked_for_null_and_utf8() {
        // SAFETY: NULL or static NUL-terminated buffers.
        unsafe {
            let null = str_arg(std::ptr::null(), "topic").unwrap_err();
            assert_eq!(null.code, strom_result::STROM_ERR_INVALID_ARGUMENT);
            assert_eq!(null.message, "topic is NULL");
            let bad = str_arg(c"\xff\xfe".as_ptr(), "name").unwrap_err();
            assert_eq!(bad.message, "name is not valid UTF-8");
            assert_eq!(str_arg(c"ok".as_ptr(), "x").unwrap(), "ok");
        }
    }

    #[test]
    fn buffers_and_arrays_accept_null_only_when_empty() {
        // SAFETY: NULL pointers, or a live local array with its true length.
        unsafe {
            assert_eq!(bytes_arg(std::ptr::null(), 0, "key").unwrap(), None);
            assert!(bytes_arg(std::ptr::null(), 3, "key").is_err());
            assert!(array_arg::<i32>(std::ptr::null(), 0, "a")
                .unwrap()
                .is_empty());
            assert!(array_arg::<i32>(std::ptr::null(), 2, "a").is_err());
            let xs = [1, 2];
            assert_eq!(array_arg(xs.as_ptr(), 2, "a").unwrap(), &[1, 2]);
        }
    }

    #[test]
    fn outputs_are_checked_before_and_written_after() {
        assert!(Out::<i32>::required(std::ptr::null_mut(), "out").is_err());
        let mut slot = 0;
        let out = Out::required(&mut slot as *mut i32, "out").unwrap();
        // SAFETY: a live local.
        unsafe { out.write(7) };
        assert_eq!(slot, 7);
        // SAFETY: a skipped optional output writes nothing.
        unsafe { Out::<i32>::optional(std::ptr::null_mut()).write(1) };
    }
}
