//! The results table: one row per measure, eddy and moto side by side, their ratio,
//! the target eddy must reach and whether it does; printed as Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every measure of the benchmark, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    SendRate,
    SendP50,
    SendP99,
    BatchRate,
    DrainRate,
    PutRate,
    PutP50,
    PutP99,
    PipelineRate,
    PipelineP50,
    PipelineP99,
    LargeRate,
    LargePercentOfDd,
    LargePercentOfMd5,
    LargeCopy,
    LargePeakRss,
    Startup,
    IdleRss,
    PeakRssUnderLoad,
    BacklogAttributesP50Empty,
    BacklogAttributesP50,
    BacklogSendPercent,
    BacklogReceiveP50Empty,
    BacklogReceiveP50,
    LambdaCreateToInvoke,
    LambdaWarmInvokeP50,
    LambdaWarmInvokeP99,
    PythonPipelineRate,
}

impl Metric {
    pub fn label(self) -> &'static str {
        match self {
            Metric::SendRate => "SQS SendMessage (msg/s)",
            Metric::SendP50 => "SendMessage p50 (ms)",
            Metric::SendP99 => "SendMessage p99 (ms)",
            Metric::BatchRate => "SQS SendMessageBatch, 10 per call (msg/s)",
            Metric::DrainRate => "SQS receive + delete drain (msg/s)",
            Metric::PutRate => "S3 PutObject 4 KiB (objects/s)",
            Metric::PutP50 => "PutObject p50 (ms)",
            Metric::PutP99 => "PutObject p99 (ms)",
            Metric::PipelineRate => "Pipeline, 4 KiB files, upload to last copy (files/s)",
            Metric::PipelineP50 => "upload-to-copied p50 (ms)",
            Metric::PipelineP99 => "upload-to-copied p99 (ms)",
            Metric::LargeRate => "Large upload, one PutObject (MB/s)",
            Metric::LargePercentOfDd => "large upload, % of dd conv=fsync",
            Metric::LargePercentOfMd5 => "large upload, % of one core's MD5 rate (the ETag)",
            Metric::LargeCopy => "large copy, upload ack to copy visible (ms)",
            Metric::LargePeakRss => "peak RSS during the large upload (MiB)",
            Metric::Startup => "Start-up to ready (ms)",
            Metric::IdleRss => "Idle RSS (MiB)",
            Metric::PeakRssUnderLoad => "Peak RSS under SQS/S3/pipeline load (MiB)",
            Metric::BacklogAttributesP50Empty => {
                "GetQueueAttributes All p50, queue of 10,000 messages (ms)"
            }
            Metric::BacklogAttributesP50 => {
                "GetQueueAttributes All p50, 1 million messages waiting (ms)"
            }
            Metric::BacklogSendPercent => {
                "SendMessage with 1 million waiting, % of the 10,000-message rate"
            }
            Metric::BacklogReceiveP50Empty => "ReceiveMessage p50, queue of 10,000 messages (ms)",
            Metric::BacklogReceiveP50 => "ReceiveMessage p50, 1 million messages waiting (ms)",
            Metric::LambdaCreateToInvoke => {
                "Lambda CreateFunction to first Invoke, Python (ms, median)"
            }
            Metric::LambdaWarmInvokeP50 => "Lambda warm Invoke p50, Python (ms)",
            Metric::LambdaWarmInvokeP99 => "Lambda warm Invoke p99, Python (ms)",
            Metric::PythonPipelineRate => {
                "Pipeline through a Python copy function, batch 10 (files/s)"
            }
        }
    }

    /// The target eddy must reach, as text.
    pub fn target(self) -> &'static str {
        match self {
            Metric::SendRate => ">= 20,000 and >= 100x moto",
            Metric::PipelineRate => ">= 3,000",
            Metric::PipelineP99 => "< 100",
            Metric::LargePercentOfDd => ">= 70%",
            Metric::LargeCopy => "< 50",
            Metric::LargePeakRss | Metric::PeakRssUnderLoad => "< 200",
            Metric::Startup => "< 100",
            Metric::IdleRss => "< 30",
            Metric::BacklogAttributesP50 => "< 2",
            Metric::BacklogSendPercent => ">= 90%",
            Metric::LambdaCreateToInvoke => "< 300",
            Metric::LambdaWarmInvokeP50 => "< 2",
            Metric::PythonPipelineRate => ">= 1,000",
            _ => "",
        }
    }

    /// Whether eddy meets the target; None when the measure has no target or no value.
    pub fn met(self, eddy: Option<f64>, moto: Option<f64>) -> Option<bool> {
        let eddy = eddy?;
        Some(match self {
            Metric::SendRate => eddy >= 20_000.0 && moto.is_none_or(|m| eddy >= 100.0 * m),
            Metric::PipelineRate => eddy >= 3_000.0,
            Metric::PipelineP99 => eddy < 100.0,
            Metric::LargePercentOfDd => eddy >= 70.0,
            Metric::LargeCopy => eddy < 50.0,
            Metric::LargePeakRss | Metric::PeakRssUnderLoad => eddy < 200.0,
            Metric::Startup => eddy < 100.0,
            Metric::IdleRss => eddy < 30.0,
            Metric::BacklogAttributesP50 | Metric::LambdaWarmInvokeP50 => eddy < 2.0,
            Metric::BacklogSendPercent => eddy >= 90.0,
            Metric::LambdaCreateToInvoke => eddy < 300.0,
            Metric::PythonPipelineRate => eddy >= 1_000.0,
            _ => return None,
        })
    }

    const ALL: [Metric; 28] = [
        Metric::SendRate,
        Metric::SendP50,
        Metric::SendP99,
        Metric::BatchRate,
        Metric::DrainRate,
        Metric::PutRate,
        Metric::PutP50,
        Metric::PutP99,
        Metric::PipelineRate,
        Metric::PipelineP50,
        Metric::PipelineP99,
        Metric::LargeRate,
        Metric::LargePercentOfDd,
        Metric::LargePercentOfMd5,
        Metric::LargeCopy,
        Metric::LargePeakRss,
        Metric::Startup,
        Metric::IdleRss,
        Metric::PeakRssUnderLoad,
        Metric::BacklogAttributesP50Empty,
        Metric::BacklogAttributesP50,
        Metric::BacklogSendPercent,
        Metric::BacklogReceiveP50Empty,
        Metric::BacklogReceiveP50,
        Metric::LambdaCreateToInvoke,
        Metric::LambdaWarmInvokeP50,
        Metric::LambdaWarmInvokeP99,
        Metric::PythonPipelineRate,
    ];
}

/// What one system measured.
#[derive(Debug, Default, Clone)]
pub struct Results {
    values: BTreeMap<Metric, f64>,
}

impl Results {
    pub fn set(&mut self, metric: Metric, value: f64) {
        self.values.insert(metric, value);
    }

    /// Sets the value when there is one.
    pub fn set_some(&mut self, metric: Metric, value: Option<f64>) {
        if let Some(value) = value {
            self.set(metric, value);
        }
    }

    pub fn get(&self, metric: Metric) -> Option<f64> {
        self.values.get(&metric).copied()
    }
}

/// A number for the table: thousands separated from 1,000 up, whole numbers without
/// decimals, one decimal from 10 up and two below.
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    if value.abs() >= 1000.0 {
        let rounded = value.round() as i64;
        let digits = rounded.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if rounded < 0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn format_ratio(eddy: Option<f64>, moto: Option<f64>) -> String {
    match (eddy, moto) {
        (Some(e), Some(m)) if m > 0.0 => {
            let ratio = e / m;
            if ratio >= 1000.0 {
                format!("{}x", format_number(ratio))
            } else if ratio >= 10.0 {
                format!("{ratio:.0}x")
            } else if ratio >= 0.1 {
                format!("{ratio:.2}x")
            } else {
                format!("{ratio:.3}x")
            }
        }
        _ => "-".to_owned(),
    }
}

/// The Markdown table of every measure either system has.
pub fn markdown_table(eddy: &Results, moto: &Results) -> String {
    let mut table = String::from(
        "| measure | eddy | moto_server | eddy/moto | target (eddy) | met |\n|---|---:|---:|---:|---|---|\n",
    );
    for metric in Metric::ALL {
        let (e, m) = (eddy.get(metric), moto.get(metric));
        if e.is_none() && m.is_none() {
            continue;
        }
        let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), format_number);
        let met = match metric.met(e, m) {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} |",
            metric.label(),
            show(e),
            show(m),
            format_ratio(e, m),
            metric.target(),
            met
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_rounded() {
        assert_eq!(format_number(21345.6), "21,346");
        assert_eq!(format_number(1_234_567.0), "1,234,567");
        assert_eq!(format_number(999.94), "999.9");
        assert_eq!(format_number(1.234), "1.23");
        assert_eq!(format_number(489.0), "489");
        assert_eq!(format_number(f64::NAN), "-");
    }

    #[test]
    fn table_has_ratios_and_verdicts() {
        let mut eddy = Results::default();
        let mut moto = Results::default();
        eddy.set(Metric::SendRate, 25_000.0);
        moto.set(Metric::SendRate, 500.0);
        eddy.set(Metric::Startup, 150.0);
        let table = markdown_table(&eddy, &moto);
        assert!(table.contains("| SQS SendMessage (msg/s) | 25,000 | 500 | 50x | >= 20,000 and >= 100x moto | **no** |"), "{table}");
        assert!(
            table.contains("| Start-up to ready (ms) | 150 | - | - | < 100 | **no** |"),
            "{table}"
        );
        assert!(!table.contains("Idle RSS"), "{table}");
    }

    #[test]
    fn targets_follow_the_issue() {
        assert_eq!(
            Metric::SendRate.met(Some(25_000.0), Some(200.0)),
            Some(true)
        );
        assert_eq!(Metric::SendRate.met(Some(25_000.0), None), Some(true));
        assert_eq!(Metric::PipelineP99.met(Some(99.0), None), Some(true));
        assert_eq!(Metric::IdleRss.met(Some(31.0), None), Some(false));
        assert_eq!(Metric::SendP50.met(Some(1.0), None), None);
    }
}
