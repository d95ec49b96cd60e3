//! Trigonometry, powers and logarithms for drawing. In the page they come from the
//! browser's `Math`: compiled in, they cost several KB of the bundle. Host builds (the
//! unit tests) use the standard library's. Nothing simulated uses them.

#[cfg(target_arch = "wasm32")]
mod imp {
    pub fn sin(x: f64) -> f64 {
        js_sys::Math::sin(x)
    }
    pub fn cos(x: f64) -> f64 {
        js_sys::Math::cos(x)
    }
    pub fn pow(base: f64, exp: f64) -> f64 {
        js_sys::Math::pow(base, exp)
    }
    pub fn log10(x: f64) -> f64 {
        js_sys::Math::log10(x)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub fn sin(x: f64) -> f64 {
        x.sin()
    }
    pub fn cos(x: f64) -> f64 {
        x.cos()
    }
    pub fn pow(base: f64, exp: f64) -> f64 {
        base.powf(exp)
    }
    pub fn log10(x: f64) -> f64 {
        x.log10()
    }
}

pub use imp::{cos, log10, pow, sin};
