package io.leafgate.bench;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results: one table of load figures and one of resource figures, each row holding every
 * run's value per server. A cell shows the median of the clean runs; the ratio column is
 * leafgate/nats-server of those medians. Rendered as Markdown tables padded to line up in a
 * terminal, so the same text goes to the console and to {@code bench/results/latest.md}.
 */
final class Report {
  /** How a row's figures are printed. */
  enum Unit {
    MSGS_PER_S("msgs/s", "%,.0f", true),
    MICROS("µs", "%,.1f", false),
    MIB("MiB", "%,.1f", false),
    KIB("KiB", "%,.1f", false),
    MILLIS("ms", "%,.0f", false);

    final String label;
    final String format;
    final boolean higherIsBetter;

    Unit(String label, String format, boolean higherIsBetter) {
      this.label = label;
      this.format = format;
      this.higherIsBetter = higherIsBetter;
    }
  }

  /** One line of a table: a figure measured on both servers, possibly several times. */
  static final class Row {
    final String scenario;
    final String size;
    final Unit unit;
    private final Map<ServerKind, List<Measured>> runs = new EnumMap<>(ServerKind.class);

    Row(String scenario, String size, Unit unit) {
      this.scenario = scenario;
      this.size = size;
      this.unit = unit;
      for (ServerKind k : ServerKind.values()) {
        runs.put(k, new ArrayList<>());
      }
    }

    /** The median of the clean runs on {@code kind}; NaN when there is none. */
    double median(ServerKind kind) {
      return Stats.median(runs.get(kind).stream().filter(Measured::ok).map(Measured::value).toList());
    }

    String cell(ServerKind kind) {
      List<Measured> all = runs.get(kind);
      if (all.isEmpty()) {
        return "-";
      }
      long failed = all.stream().filter(m -> !m.ok()).count();
      if (failed == all.size()) {
        return "failed";
      }
      String v = String.format(Locale.ROOT, unit.format, median(kind));
      return failed == 0 ? v : v + " (" + failed + "/" + all.size() + " failed)";
    }

    String ratio() {
      double r = median(ServerKind.LEAFGATE) / median(ServerKind.NATS_SERVER);
      return Double.isNaN(r) || Double.isInfinite(r) ? "-" : String.format(Locale.ROOT, "%.2f", r);
    }
  }

  private final List<Row> load = new ArrayList<>();
  private final List<Row> resources = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  /** Adds a row to the load table. */
  Row loadRow(String scenario, String size, Unit unit) {
    Row r = new Row(scenario, size, unit);
    load.add(r);
    return r;
  }

  /** Adds a row to the resource table. */
  Row resourceRow(String scenario, String size, Unit unit) {
    Row r = new Row(scenario, size, unit);
    resources.add(r);
    return r;
  }

  /** Records one run's figure; a failed run is also listed under "Problems". */
  void add(Row row, ServerKind kind, Measured m) {
    row.runs.get(kind).add(m);
    if (m.problem() != null) {
      problems.add(row.scenario + (row.size.equals("-") ? "" : " " + row.size) + ", " + kind.label()
          + " run " + row.runs.get(kind).size() + (m.ok() ? ", warning: " : ", failed: ") + m.problem());
    }
  }

  /** Adds a line under "Notes". */
  void note(String line) {
    notes.add(line);
  }

  /** Adds a line under "Problems" that belongs to no row. */
  void problem(String line) {
    problems.add(line);
  }

  /** The whole report as Markdown, with {@code header} lines first. */
  String render(List<String> header) {
    StringBuilder sb = new StringBuilder();
    header.forEach(h -> sb.append(h).append('\n'));
    if (!load.isEmpty()) {
      sb.append('\n');
      table(sb, load);
    }
    if (!resources.isEmpty()) {
      sb.append('\n');
      table(sb, resources);
    }
    if (!notes.isEmpty()) {
      sb.append("\nNotes:\n");
      notes.forEach(n -> sb.append("- ").append(n).append('\n'));
    }
    if (!problems.isEmpty()) {
      sb.append("\nProblems (a run marked failed is left out of its median; other lines are warnings):\n");
      problems.forEach(p -> sb.append("- ").append(p).append('\n'));
    }
    return sb.toString();
  }

  private static void table(StringBuilder sb, List<Row> rows) {
    String[] head = {"scenario", "size", "nats-server", "leafgate", "ratio (leafgate/nats-server)"};
    List<String[]> body = new ArrayList<>();
    for (Row r : rows) {
      String better = r.unit.higherIsBetter ? "higher is better" : "lower is better";
      body.add(new String[] {r.scenario + " (" + r.unit.label + ", " + better + ")", r.size,
          r.cell(ServerKind.NATS_SERVER), r.cell(ServerKind.LEAFGATE), r.ratio()});
    }
    int[] w = new int[head.length];
    for (int i = 0; i < head.length; i++) {
      w[i] = head[i].length();
      for (String[] b : body) {
        w[i] = Math.max(w[i], b[i].length());
      }
    }
    line(sb, head, w);
    sb.append('|');
    for (int i = 0; i < w.length; i++) {
      sb.append(i == 0 ? ":" : "-").append("-".repeat(w[i])).append(i == 0 ? "-" : ":").append('|');
    }
    sb.append('\n');
    body.forEach(b -> line(sb, b, w));
  }

  private static void line(StringBuilder sb, String[] cells, int[] w) {
    sb.append('|');
    for (int i = 0; i < cells.length; i++) {
      String pad = " ".repeat(w[i] - cells[i].length());
      sb.append(' ').append(i == 0 ? cells[i] + pad : pad + cells[i]).append(" |");
    }
    sb.append('\n');
  }
}
