package io.leafgate.leaf.config;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * One value of a parsed config file: a map, an array or a scalar, with the file and line it came
 * from so that whoever interprets it can report problems as {@code file:line: message}.
 *
 * <p>For a value that belongs to a map key the line is the key's line, as nats-server reports it.
 * For an array element it is the element's own line. A value obtained through a variable reference
 * ({@code $NAME}) carries the position of the reference, not of the definition.
 *
 * <p>Scalars keep the text they were written as ({@link #raw()}), because some meanings depend on
 * the key: unquoted {@code 2m} is the integer 2000000 to the parser (nats-server's size suffix) but
 * two minutes to a duration key.
 *
 * <p>Values are built by {@link ConfigParser} and read-only afterwards.
 */
public final class ConfigValue {

  /** What kind of value this is. */
  public enum Kind {
    /** {@code { key: value ... }}; keys keep their spelling and file order. */
    MAP,
    /** {@code [ a, b ]}. */
    ARRAY,
    /** A quoted or unquoted string. */
    STRING,
    /** A whole number, with any size suffix already applied ({@code 1KB} is 1024). */
    INTEGER,
    /** A number with a fractional part, such as {@code 0.5}. */
    FLOAT,
    /** {@code true/false/yes/no/on/off}, any case. */
    BOOL
  }

  private final Kind kind;
  private final Object value;
  private final String raw;
  private final boolean quoted;
  private final Path file;
  private final int line;
  private boolean usedAsVariable;

  private ConfigValue(Kind kind, Object value, String raw, boolean quoted, Path file, int line) {
    this.kind = kind;
    this.value = value;
    this.raw = raw;
    this.quoted = quoted;
    this.file = Objects.requireNonNull(file, "file");
    this.line = line;
  }

  /** A map value backed by {@code entries}; the parser keeps filling it until the block ends. */
  static ConfigValue map(Map<String, ConfigValue> entries, Path file, int line) {
    return new ConfigValue(Kind.MAP, entries, null, false, file, line);
  }

  /** An array value backed by {@code items}. */
  static ConfigValue array(List<ConfigValue> items, Path file, int line) {
    return new ConfigValue(Kind.ARRAY, items, null, false, file, line);
  }

  /** A string; {@code quoted} tells whether it was written in quotes. */
  static ConfigValue string(String s, boolean quoted, Path file, int line) {
    return new ConfigValue(Kind.STRING, s, s, quoted, file, line);
  }

  /** An integer whose source text was {@code raw} (for example {@code 64MB}). */
  static ConfigValue integer(long n, String raw, Path file, int line) {
    return new ConfigValue(Kind.INTEGER, n, raw, false, file, line);
  }

  /** A floating-point number whose source text was {@code raw}. */
  static ConfigValue floating(double d, String raw, Path file, int line) {
    return new ConfigValue(Kind.FLOAT, d, raw, false, file, line);
  }

  /** A boolean whose source text was {@code raw} (for example {@code on}). */
  static ConfigValue bool(boolean b, String raw, Path file, int line) {
    return new ConfigValue(Kind.BOOL, b, raw, false, file, line);
  }

  /** The same value reported at another position (used for variable references). */
  ConfigValue at(Path newFile, int newLine) {
    return new ConfigValue(kind, value, raw, quoted, newFile, newLine);
  }

  /** Marks this value as the target of a {@code $NAME} reference. */
  void markUsedAsVariable() {
    usedAsVariable = true;
  }

  /** What kind of value this is. */
  public Kind kind() {
    return kind;
  }

  /** The file the value was written in. */
  public Path file() {
    return file;
  }

  /** The 1-based line of the value (of its key, for map entries). */
  public int line() {
    return line;
  }

  /** {@code file:line}, for messages. */
  public String where() {
    return file + ":" + line;
  }

  /**
   * The text of a scalar as written (without quotes, escapes decoded), for example {@code 2m},
   * {@code 1.5} or {@code on}; null for maps and arrays.
   */
  public String raw() {
    return raw;
  }

  /** Whether this is a string written in single or double quotes. */
  public boolean quoted() {
    return quoted;
  }

  /**
   * Whether some {@code $NAME} reference resolved to this value. A key that only defines a variable
   * is not an unknown field, as in nats-server.
   */
  public boolean usedAsVariable() {
    return usedAsVariable;
  }

  /** Whether this is a map. */
  public boolean isMap() {
    return kind == Kind.MAP;
  }

  /** Whether this is an array. */
  public boolean isArray() {
    return kind == Kind.ARRAY;
  }

  /** Whether this is a string. */
  public boolean isString() {
    return kind == Kind.STRING;
  }

  /** The entries of a map, in file order; throws if this is not a map. */
  @SuppressWarnings("unchecked")
  public Map<String, ConfigValue> asMap() {
    check(Kind.MAP);
    return Collections.unmodifiableMap((Map<String, ConfigValue>) value);
  }

  /** The items of an array; throws if this is not an array. */
  @SuppressWarnings("unchecked")
  public List<ConfigValue> asList() {
    check(Kind.ARRAY);
    return Collections.unmodifiableList((List<ConfigValue>) value);
  }

  /** The text of a string; throws if this is not a string. */
  public String asString() {
    check(Kind.STRING);
    return (String) value;
  }

  /** The value of an integer; throws if this is not an integer. */
  public long asLong() {
    check(Kind.INTEGER);
    return (Long) value;
  }

  /** The value of an integer or a float as a double; throws for anything else. */
  public double asDouble() {
    if (kind == Kind.INTEGER) {
      return (Long) value;
    }
    check(Kind.FLOAT);
    return (Double) value;
  }

  /** The value of a boolean; throws if this is not a boolean. */
  public boolean asBoolean() {
    check(Kind.BOOL);
    return (Boolean) value;
  }

  /**
   * The entry of a map whose key equals {@code key} ignoring case (config keys are
   * case-insensitive, as in nats-server), or null. When several keys match, the last one wins.
   */
  public ConfigValue get(String key) {
    ConfigValue found = null;
    for (Map.Entry<String, ConfigValue> e : asMap().entrySet()) {
      if (e.getKey().equalsIgnoreCase(key)) {
        found = e.getValue();
      }
    }
    return found;
  }

  /**
   * A short description for error messages: {@code a map}, {@code an array}, {@code string "x"},
   * {@code integer 5}, {@code float 0.5}, {@code boolean true}.
   */
  public String describe() {
    return switch (kind) {
      case MAP -> "a map";
      case ARRAY -> "an array";
      case STRING -> "string \"" + value + "\"";
      case INTEGER -> "integer " + raw;
      case FLOAT -> "float " + raw;
      case BOOL -> "boolean " + raw;
    };
  }

  private void check(Kind expected) {
    if (kind != expected) {
      throw new IllegalStateException(
          where() + ": expected " + expected.name().toLowerCase(Locale.ROOT) + ", got " + describe());
    }
  }

  @Override
  public String toString() {
    return switch (kind) {
      case MAP, ARRAY -> String.valueOf(value);
      case STRING -> '"' + (String) value + '"';
      default -> raw;
    };
  }
}
