package io.leafgate.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The results: tables of figures, each row holding every run's value on the baseline and on
 * leafgate. A cell shows the median of the clean runs; the ratio column is leafgate/baseline of
 * those medians. Each table names its baseline: nats-server for the NATS load and resource tables,
 * nats-server with its file store for JetStream, the hub's own ingest for the uplink drain,
 * mosquitto for MQTT. Rendered as Markdown tables padded to line up in a terminal, so the same text
 * goes to the console and to {@code bench/results/latest.md}.
 */
final class Report {
  /** How a row's figures are printed. */
  enum Unit {
    MSGS_PER_S("msgs/s", "%,.0f", true),
    MICROS("µs", "%,.1f", false),
    MILLIS_LATENCY("ms", "%,.2f", false),
    MIB("MiB", "%,.1f", false),
    KIB("KiB", "%,.1f", false),
    BYTES("B", "%,.0f", false),
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

  /** The two columns of figures in a table. */
  enum Side { BASELINE, LEAFGATE }

  /**
   * A goal printed next to a row's ratio, with whether the medians meet it.
   *
   * @param kind what is compared: the ratio, or leafgate's own figure
   * @param bound the limit
   */
  record Target(Kind kind, double bound) {
    enum Kind { RATIO_AT_LEAST, RATIO_BELOW, LEAFGATE_AT_MOST }

    static Target ratioAtLeast(double bound) {
      return new Target(Kind.RATIO_AT_LEAST, bound);
    }

    static Target ratioBelow(double bound) {
      return new Target(Kind.RATIO_BELOW, bound);
    }

    static Target leafgateAtMost(double bound) {
      return new Target(Kind.LEAFGATE_AT_MOST, bound);
    }

    /** "target ≥ 0.80: met", or "target ≥ 0.80: -" when a figure is missing. */
    String describe(double ratio, double leafgate, Unit unit) {
      double v = kind == Kind.LEAFGATE_AT_MOST ? leafgate : ratio;
      String goal = switch (kind) {
        case RATIO_AT_LEAST -> String.format(Locale.ROOT, "≥ %.2f", bound);
        case RATIO_BELOW -> String.format(Locale.ROOT, "< %.2f", bound);
        case LEAFGATE_AT_MOST -> String.format(Locale.ROOT, "leafgate ≤ " + unit.format + " %s", bound, unit.label);
      };
      if (Double.isNaN(v) || Double.isInfinite(v)) {
        return "target " + goal + ": -";
      }
      boolean met = switch (kind) {
        case RATIO_AT_LEAST -> v >= bound;
        case RATIO_BELOW -> v < bound;
        case LEAFGATE_AT_MOST -> v <= bound;
      };
      return "target " + goal + ": " + (met ? "met" : "NOT met");
    }
  }

  /** One table: its title, the name of its baseline column, its rows. */
  static final class Table {
    final String title;
    final String baseline;
    final List<Row> rows = new ArrayList<>();
    final List<String> footer = new ArrayList<>();

    Table(String title, String baseline) {
      this.title = title;
      this.baseline = baseline;
    }

    /** Adds a line printed right under the table. */
    void footer(String line) {
      footer.add(line);
    }

    /** Adds a row to this table. */
    Row row(String scenario, String size, Unit unit) {
      Row r = new Row(this, scenario, size, unit);
      rows.add(r);
      return r;
    }
  }

  /** One line of a table: a figure measured on the baseline and on leafgate, possibly several times. */
  static final class Row {
    final Table table;
    final String scenario;
    final String size;
    final Unit unit;
    private final List<Measured> baseline = new ArrayList<>();
    private final List<Measured> leafgate = new ArrayList<>();
    private Target target;

    Row(Table table, String scenario, String size, Unit unit) {
      this.table = table;
      this.scenario = scenario;
      this.size = size;
      this.unit = unit;
    }

    /** Sets the goal shown next to the ratio; returns this row. */
    Row target(Target t) {
      this.target = t;
      return this;
    }

    private List<Measured> runs(Side side) {
      return side == Side.LEAFGATE ? leafgate : baseline;
    }

    /** The median of the clean runs on {@code side}; NaN when there is none. */
    double median(Side side) {
      return Stats.median(runs(side).stream().filter(Measured::ok).map(Measured::value).toList());
    }

    String cell(Side side) {
      List<Measured> all = runs(side);
      if (all.isEmpty()) {
        return "-";
      }
      long failed = all.stream().filter(m -> !m.ok()).count();
      if (failed == all.size()) {
        return "failed";
      }
      String v = String.format(Locale.ROOT, unit.format, median(side));
      return failed == 0 ? v : v + " (" + failed + "/" + all.size() + " failed)";
    }

    String ratio() {
      double r = median(Side.LEAFGATE) / median(Side.BASELINE);
      String s = Double.isNaN(r) || Double.isInfinite(r) ? "-" : String.format(Locale.ROOT, "%.2f", r);
      return target == null ? s : s + " (" + target.describe(r, median(Side.LEAFGATE), unit) + ")";
    }

    String label(Side side) {
      return side == Side.LEAFGATE ? "leafgate" : table.baseline;
    }
  }

  private final Table load = new Table(null, "nats-server");
  private final Table resources = new Table(null, "nats-server");
  private final List<Table> extra = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  /** Adds a row to the NATS load table. */
  Row loadRow(String scenario, String size, Unit unit) {
    return load.row(scenario, size, unit);
  }

  /** Adds a row to the NATS resource table. */
  Row resourceRow(String scenario, String size, Unit unit) {
    return resources.row(scenario, size, unit);
  }

  /** Adds a table of its own (printed after the NATS tables, in the order of the calls). */
  Table table(String title, String baseline) {
    Table t = new Table(title, baseline);
    extra.add(t);
    return t;
  }

  /** Records one run's figure of a NATS table (nats-server is the baseline); see {@link #add(Row, Side, Measured)}. */
  void add(Row row, ServerKind kind, Measured m) {
    add(row, kind == ServerKind.LEAFGATE ? Side.LEAFGATE : Side.BASELINE, m);
  }

  /** Records one run's figure; a failed run is also listed under "Problems". */
  void add(Row row, Side side, Measured m) {
    row.runs(side).add(m);
    if (m.problem() != null) {
      problems.add(row.scenario + (row.size.equals("-") ? "" : " " + row.size) + ", " + row.label(side)
          + " run " + row.runs(side).size() + (m.ok() ? ", warning: " : ", failed: ") + m.problem());
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
    List<Table> all = new ArrayList<>(List.of(load, resources));
    all.addAll(extra);
    for (Table t : all) {
      if (t.rows.isEmpty()) {
        continue;
      }
      sb.append('\n');
      if (t.title != null) {
        sb.append("## ").append(t.title).append("\n\n");
      }
      table(sb, t);
      if (!t.footer.isEmpty()) {
        sb.append('\n');
        t.footer.forEach(f -> sb.append(f).append("  \n"));
      }
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

  private static void table(StringBuilder sb, Table t) {
    String[] head = {"scenario", "size", t.baseline, "leafgate", "ratio (leafgate/" + t.baseline + ")"};
    List<String[]> body = new ArrayList<>();
    for (Row r : t.rows) {
      String better = r.unit.higherIsBetter ? "higher is better" : "lower is better";
      body.add(new String[] {r.scenario + " (" + r.unit.label + ", " + better + ")", r.size,
          r.cell(Side.BASELINE), r.cell(Side.LEAFGATE), r.ratio()});
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
