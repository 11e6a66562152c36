//! Kafka settings from Python: a dict and keyword arguments, names with dots
//! (`"linger.ms"`) or underscores (`linger_ms=5`), values as strings, numbers, booleans or
//! lists (joined with commas, as `bootstrap.servers` wants them). The clients' builders check
//! the names and values.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// The settings of `config` then `kwargs` (later ones win), in order.
pub fn collect(
    config: Option<&Bound<'_, PyAny>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(config) = config.filter(|c| !c.is_none()) {
        let items = config.call_method0("items").map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("config must be a dict of Kafka settings")
        })?;
        for item in items.try_iter()? {
            let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            push(&mut out, &name, &value)?;
        }
    }
    if let Some(kwargs) = kwargs {
        for (name, value) in kwargs.iter() {
            push(&mut out, &name, &value)?;
        }
    }
    Ok(out)
}

fn push(
    out: &mut Vec<(String, String)>,
    name: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let name: String = name.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!("config names are strings, not {name:?}"))
    })?;
    if value.is_none() {
        return Ok(());
    }
    let text = text(&name, value)?;
    out.push((name.replace('_', "."), text));
    Ok(())
}

/// A setting's value as Kafka's string form.
pub fn text(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_string());
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyString>() {
        return Ok(value.str()?.to_cow()?.into_owned());
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        let f = f.value();
        return Ok(if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{}", f as i64)
        } else {
            f.to_string()
        });
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let parts = value
            .try_iter()?
            .map(|v| text(name, &v?))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(parts.join(","));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "config {name}: expected a string, number, boolean or list, not {}",
        value.get_type().name()?
    )))
}
