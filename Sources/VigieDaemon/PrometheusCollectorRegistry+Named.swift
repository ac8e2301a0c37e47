import Prometheus

/// Vigie's metrics by their whole name, as the dashboard, the alert rules and the
/// man pages spell them (`vigie_store_errors_total`).
///
/// swift-prometheus 2.4 deprecates `makeCounter(name:help:)` and its kin for a
/// `MetricNameDescriptor` of namespace, subsystem, name and unit joined by
/// underscores. Splitting each fixed name into parts only for the library to join
/// them again would hide the name a reader greps for, so each name is given whole as
/// the descriptor's `metricName` with no other part: the exported name is the same.
extension PrometheusCollectorRegistry {
    func counter(name: String, help: String) -> Counter {
        makeCounter(descriptor: Self.descriptor(name, help))
    }

    func counter(name: String, labels: [(String, String)], help: String) -> Counter {
        makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    func gauge(name: String, help: String) -> Gauge {
        makeGauge(descriptor: Self.descriptor(name, help))
    }

    func durationHistogram(name: String, buckets: [Duration], help: String) -> DurationHistogram {
        makeDurationHistogram(descriptor: Self.descriptor(name, help), buckets: buckets)
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
