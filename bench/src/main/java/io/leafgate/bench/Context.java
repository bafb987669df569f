package io.leafgate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * What a section of the benchmark works with: the options, the programs, the report to fill, its
 * own temporary folder and the progress line printer.
 */
record Context(BenchOptions options, ServerProcess.Programs programs, Report report, Path tmp,
    Consumer<String> progress) {

  /** Prints a progress line on stderr ("bench: ..."). */
  void progress(String format, Object... args) {
    progress.accept(String.format(Locale.ROOT, format, args));
  }

  /** Writes a config file into {@code dir} (created if needed) and returns its path. */
  static Path writeConfig(Path dir, String name, String text) throws IOException {
    Files.createDirectories(dir);
    Path p = dir.resolve(name);
    Files.writeString(p, text, StandardCharsets.UTF_8);
    return p;
  }

  /** A duration for the notes: "300 ms", "2.5 s". */
  static String span(Duration d) {
    return d.toMillis() < 1000 ? d.toMillis() + " ms" : String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1e3);
  }

  /** A figure for progress lines: "1,234.5 msgs/s", or "FAILED (why)". */
  static String show(Measured m, String unit) {
    return m.ok() ? String.format(Locale.ROOT, "%,.1f %s", m.value(), unit) : "FAILED (" + m.problem() + ")";
  }

  /** A quoted string for a config file in nats-server syntax. */
  static String quote(Object s) {
    return "\"" + s.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
