//! What the sandbox's human pages share: one small stylesheet (the pages need no JavaScript).

/// The stylesheet of the Ktpay card page and the Kupi-Kupi transfer form.
pub(crate) const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;\
background:#f4f5f7;color:#1d2330;margin:0;padding:32px}\
main{max-width:440px;margin:0 auto;background:#fff;border-radius:12px;padding:24px 28px;\
box-shadow:0 2px 12px rgba(0,0,0,.08)}\
h1{font-size:20px;margin:0 0 4px}.sub{color:#5b6475;margin:0 0 18px}\
label{display:block;font-size:13px;color:#5b6475;margin:12px 0 4px}\
input{width:100%;box-sizing:border-box;font-size:16px;padding:10px;border:1px solid #c9ced8;border-radius:8px}\
button{margin-top:18px;width:100%;font-size:16px;padding:11px;border:0;border-radius:8px;\
background:#2a6df4;color:#fff;cursor:pointer}\
.hint{font-size:13px;color:#5b6475;background:#f4f5f7;border-radius:8px;padding:10px;margin-top:16px}\
.error{color:#b3261e}.status{font-weight:600}table{border-collapse:collapse;width:100%;font-size:13px}\
td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #e6e8ec}code{font-size:13px}\
.brand{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#2a6df4;margin:0 0 8px}";

/// Percent-encodes a query value.
#[cfg_attr(not(feature = "ktwidget"), allow(dead_code))]
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
