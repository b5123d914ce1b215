//! A real, small, valid PDF receipt (one page, Helvetica, a correct cross-reference table).

use super::{Kind, Payment};

fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            c if c.is_ascii() && !c.is_ascii_control() => c.to_string(),
            _ => "?".to_owned(),
        })
        .collect()
}

/// The receipt of a paid payment.
pub(crate) fn receipt(p: &Payment) -> Vec<u8> {
    let mut lines = vec![
        "Ktpay sandbox receipt".to_owned(),
        format!("Order: {}", p.order_id),
        format!("Amount: {}", p.amount.to_decimal_string()),
        format!("Transaction: {}", p.transaction_hash),
        format!("Status: {}", p.status),
    ];
    if let Kind::Service {
        service_id,
        contract_value,
    } = &p.kind
    {
        lines.push(format!("Service {service_id}, contract {contract_value}"));
    }
    let mut content = String::from("BT /F1 11 Tf 36 250 Td 14 TL\n");
    for l in &lines {
        content.push_str(&format!("({}) Tj T*\n", pdf_text(l)));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 320 300] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{}endstream", content.len(), content),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{}\nendobj\n", i + 1, o));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n",
        objects.len() + 1,
        xref
    ));
    out.into_bytes()
}
