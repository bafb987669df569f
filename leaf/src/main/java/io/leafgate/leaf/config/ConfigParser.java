package io.leafgate.leaf.config;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Parser for nats-server's config syntax, producing a tree of {@link ConfigValue}s that remember
 * their file and line. It only knows the syntax; what the keys mean is {@link ConfigLoader}'s
 * business.
 *
 * <p>The syntax, as nats-server's {@code conf} package accepts it:
 *
 * <ul>
 *   <li>{@code key = value}, {@code key: value} and {@code key value}; entries end at a new line,
 *       {@code ;} or {@code ,}. Keys may be quoted.
 *   <li>Maps {@code { ... }}, also as {@code key { ... }} without a separator; arrays {@code [ ... ]}
 *       whose items are separated by commas or new lines. A whole document may be wrapped in
 *       braces, JSON style.
 *   <li>Comments from {@code #} or {@code //} to the end of the line.
 *   <li>Double-quoted strings with the escapes {@code \t \n \r \" \\ \xHH}; single-quoted strings
 *       taken literally; unquoted strings, which end at white space, a new line, {@code , ; ] }}, so
 *       that {@code 127.0.0.1:4222} and {@code nats://hub:7422} need no quotes.
 *   <li>Integers with size suffixes, case-insensitive: {@code k m g t p e} are powers of 1000 and
 *       {@code kb/ki/kib}, {@code mb/mi/mib}... are powers of 1024 (so {@code 1K} is 1000 and
 *       {@code 1KB} is 1024, as in nats-server's {@code conf/parse.go}). Floats such as {@code 0.5}.
 *   <li>Booleans {@code true false yes no on off}, any case.
 *   <li>{@code include 'file.conf'} (quoted or not), resolved against the including file's folder;
 *       its top-level keys are merged into the block that holds the include. As in nats-server the
 *       included file is parsed on its own: it sees environment variables but not the including
 *       file's keys.
 *   <li>{@code $NAME}, an unquoted reference to an earlier key of the same or an enclosing block,
 *       else to the environment variable {@code NAME}, whose text is parsed as a value (so
 *       {@code PORT=4222} gives an integer). A key that is only used as a variable is not an unknown
 *       field. Unquoted bcrypt hashes ({@code $2a$...}) are strings, not references.
 * </ul>
 *
 * <p>Block strings ({@code ( ... )}) are not supported. Duplicate keys are not errors: the last one
 * wins, as in nats-server.
 *
 * <p>The parser does not stop at the first syntax error. It reports it, skips to a point where it
 * can resume (usually the end of the line) and goes on, so one run reports every problem it can.
 * Instances are immutable and may be shared.
 */
public final class ConfigParser {

  /**
   * What parsing produced: the top-level map (with whatever could be parsed) and every syntax
   * problem, in the order found.
   *
   * @param root the top-level map; never null, possibly partial when {@code errors} is not empty
   * @param errors syntax and reference problems
   */
  public record Result(ConfigValue root, List<ConfigError> errors) {
    /** Copies the error list. */
    public Result {
      Objects.requireNonNull(root, "root");
      errors = List.copyOf(errors);
    }

    /** Whether the file parsed without any problem. */
    public boolean ok() {
      return errors.isEmpty();
    }
  }

  private static final int EOF = -1;
  private static final Pattern INTEGER = Pattern.compile("-?\\d+");
  private static final Pattern SUFFIXED = Pattern.compile("(-?\\d+)([A-Za-z]+)");
  private static final Pattern FLOAT = Pattern.compile("-?\\d+\\.\\d+");
  /** bcrypt hashes start with {@code $2a$}, {@code $2b$} or {@code $2y$}. */
  private static final Pattern BCRYPT = Pattern.compile("2[aby]\\$.*");

  private final Function<String, String> env;

  /** A parser that resolves {@code $NAME} against the process environment. */
  public ConfigParser() {
    this(System::getenv);
  }

  /**
   * A parser that resolves {@code $NAME} with {@code env} (which returns null for an unset name)
   * once no enclosing block defines {@code NAME}. Tests use this to supply an environment.
   */
  public ConfigParser(Function<String, String> env) {
    this.env = Objects.requireNonNull(env, "env");
  }

  /**
   * Reads and parses {@code file}. A file that cannot be read gives one error on line 0 (the file
   * as a whole) and an empty root.
   */
  public Result parse(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      List<ConfigError> errors =
          List.of(new ConfigError(file, 0, "cannot read config file: " + describe(e)));
      return new Result(ConfigValue.map(new LinkedHashMap<>(), file, 1), errors);
    }
    return parse(text, file);
  }

  /**
   * Parses {@code text} as if it were the content of {@code file}: errors name {@code file} and
   * includes are resolved against its folder.
   */
  public Result parse(String text, Path file) {
    Session session = new Session();
    session.includeChain.add(file.toAbsolutePath().normalize());
    FileParser p = new FileParser(text, file, 1, session, session.errors);
    ConfigValue root = p.parseDocument();
    return new Result(root, session.errors);
  }

  static String describe(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /** The state shared by one {@link #parse} call across included files and environment values. */
  private static final class Session {
    final List<ConfigError> errors = new ArrayList<>();
    /** The files being parsed, outermost first, to detect include cycles. */
    final Set<Path> includeChain = new LinkedHashSet<>();
    /** The environment variables being resolved, to detect reference cycles. */
    final Set<String> envResolving = new HashSet<>();
  }

  /** A recursive-descent parser over the text of one file (or of one environment value). */
  private final class FileParser {
    private final String text;
    private final Path file;
    private final Session session;
    private final List<ConfigError> errors;
    /** Maps being built, innermost first; {@code $NAME} is looked up in them. */
    private final Deque<Map<String, ConfigValue>> scopes = new ArrayDeque<>();
    private int pos;
    private int line;
    /** Set when a {@code $NAME} could not be resolved, as opposed to a plain syntax error. */
    private boolean referenceFailed;

    FileParser(String text, Path file, int firstLine, Session session, List<ConfigError> errors) {
      this.text = text;
      this.file = file;
      this.line = firstLine;
      this.session = session;
      this.errors = errors;
      if (text.startsWith("\uFEFF")) {
        pos = 1;
      }
    }

    // ---- document, blocks and entries ------------------------------------------------------

    ConfigValue parseDocument() {
      Map<String, ConfigValue> root = new LinkedHashMap<>();
      ConfigValue rootValue = ConfigValue.map(root, file, 1);
      scopes.push(root);
      skipBlank();
      if (peek() == '{') {
        // The whole document in braces, JSON style.
        int open = line;
        advance();
        parseEntries(root, open, true);
        skipBlank();
        if (peek() != EOF) {
          error(line, "unexpected text after the '}' that closes the document");
        }
      } else {
        parseEntries(root, 1, false);
      }
      scopes.pop();
      return rootValue;
    }

    /**
     * Parses entries into {@code target} until EOF or, when {@code braced}, the closing brace
     * (which it consumes).
     */
    private void parseEntries(Map<String, ConfigValue> target, int openLine, boolean braced) {
      while (true) {
        skipBlank();
        int c = peek();
        if (c == EOF) {
          if (braced) {
            error(openLine, "the block opened on this line is never closed (missing '}')");
          }
          return;
        }
        if (c == '}') {
          advance();
          if (braced) {
            return;
          }
          error(line, "unexpected '}' with no block to close");
          continue;
        }
        if (c == ';' || c == ',') {
          advance();
          continue;
        }
        parseEntry(target);
      }
    }

    /** Parses one {@code key [=|:] value} or {@code include file} entry. */
    private void parseEntry(Map<String, ConfigValue> target) {
      int keyLine = line;
      int c = peek();
      String key;
      boolean keyQuoted = c == '"' || c == '\'';
      if (keyQuoted) {
        key = readQuotedKey();
        if (key == null) {
          return;
        }
      } else {
        key = readBareKey();
        if (key.isEmpty()) {
          error(keyLine, "expected a key, found " + show(c));
          skipToEol();
          return;
        }
      }
      if (!keyQuoted && key.equalsIgnoreCase("include") && isHSpace(peek())) {
        parseInclude(target, keyLine);
        return;
      }
      skipHSpace();
      boolean separator = false;
      c = peek();
      if (c == '=' || c == ':') {
        advance();
        skipHSpace();
        separator = true;
      }
      if (atLineEnd()) {
        // `key` then `{` on a following line is still a block, as in nats-server.
        if (!separator && nextNonBlankIsBrace()) {
          skipBlank();
        } else {
          error(keyLine, "missing value for \"" + key + "\"");
          return;
        }
      }
      ConfigValue value = parseValue(keyLine, "\"" + key + "\"");
      if (value == null) {
        return;
      }
      target.remove(key); // last one wins, and moves to the end like a fresh entry
      target.put(key, value);
      expectEntryEnd("the value of \"" + key + "\"");
    }

    /** After an entry: only a new line, a comment, {@code ;}, {@code ,} or {@code }} may follow. */
    private void expectEntryEnd(String what) {
      skipHSpace();
      int c = peek();
      if (c == ';' || c == ',') {
        advance();
        return;
      }
      if (atLineEnd() || c == '}') {
        return;
      }
      error(line, "expected a new line after " + what + ", found " + show(c));
      skipToEol();
    }

    private void parseInclude(Map<String, ConfigValue> target, int includeLine) {
      skipHSpace();
      int c = peek();
      String name;
      if (c == '"' || c == '\'') {
        advance();
        StringBuilder sb = new StringBuilder();
        while (peek() != c) {
          if (peek() == EOF || peek() == '\n') {
            error(includeLine, "the include file name is never closed (missing " + show(c) + ")");
            skipToEol();
            return;
          }
          sb.append((char) peek());
          advance();
        }
        advance();
        name = sb.toString();
      } else {
        StringBuilder sb = new StringBuilder();
        while (!isHSpace(peek()) && peek() != '\n' && peek() != EOF && peek() != ';'
            && peek() != '}') {
          sb.append((char) peek());
          advance();
        }
        name = sb.toString();
      }
      if (name.isEmpty()) {
        error(includeLine, "include needs a file name");
        skipToEol();
        return;
      }
      // resolveSibling keeps an absolute name as it is.
      includeFile(file.resolveSibling(name), name, includeLine, target);
      expectEntryEnd("the include");
    }

    private void includeFile(
        Path included, String name, int includeLine, Map<String, ConfigValue> target) {
      Path norm = included.toAbsolutePath().normalize();
      if (session.includeChain.contains(norm)) {
        String chain =
            session.includeChain.stream().map(Path::toString).collect(Collectors.joining(" -> "));
        error(includeLine, "include cycle: " + chain + " -> " + norm);
        return;
      }
      String content;
      try {
        content = Files.readString(included, StandardCharsets.UTF_8);
      } catch (IOException e) {
        error(includeLine, "cannot read included file \"" + name + "\": " + describe(e));
        return;
      }
      session.includeChain.add(norm);
      try {
        FileParser sub = new FileParser(content, included, 1, session, errors);
        ConfigValue root = sub.parseDocument();
        for (Map.Entry<String, ConfigValue> e : root.asMap().entrySet()) {
          target.remove(e.getKey());
          target.put(e.getKey(), e.getValue());
        }
      } finally {
        session.includeChain.remove(norm);
      }
    }

    // ---- values ----------------------------------------------------------------------------

    /**
     * Parses the value at the current position. Returns null after reporting a problem; the
     * position is then at the end of the line or at an unconsumed {@code , ; ] }}.
     *
     * @param valueLine the line to give the value (its key's line for map entries)
     * @param what how to name the value in messages
     */
    private ConfigValue parseValue(int valueLine, String what) {
      int c = peek();
      switch (c) {
        case '[':
          return parseArray(valueLine);
        case '{':
          return parseMap(valueLine);
        case '"':
          return parseDoubleQuoted(valueLine);
        case '\'':
          return parseSingleQuoted(valueLine);
        case '(':
          error(line, "block strings in ( ) are not supported, use a quoted string");
          skipBlockString();
          return null;
        default:
          break;
      }
      String token = readBareValue();
      if (token.isEmpty()) {
        error(line, "missing value for " + what + ", found " + show(c));
        if (c != EOF && c != ',' && c != ';' && c != ']' && c != '}') {
          skipToEol();
        }
        return null;
      }
      return classify(token, valueLine);
    }

    private ConfigValue parseMap(int valueLine) {
      int open = line;
      advance();
      Map<String, ConfigValue> entries = new LinkedHashMap<>();
      ConfigValue value = ConfigValue.map(entries, file, valueLine);
      scopes.push(entries);
      try {
        parseEntries(entries, open, true);
      } finally {
        scopes.pop();
      }
      return value;
    }

    private ConfigValue parseArray(int valueLine) {
      int open = line;
      int arrayStart = pos;
      advance();
      List<ConfigValue> items = new ArrayList<>();
      ConfigValue value = ConfigValue.array(items, file, valueLine);
      boolean needItem = true;
      while (true) {
        skipBlank();
        int c = peek();
        if (c == ']') {
          advance();
          return value;
        }
        if (c == EOF || c == '}') {
          // A '}' most likely closes the enclosing block: leave it for the caller.
          error(open, "the array opened on this line is never closed (missing ']')");
          return value;
        }
        if (c == ',') {
          if (needItem) {
            error(line, "unexpected ',' in array: there is no item before it");
          }
          advance();
          needItem = true;
          continue;
        }
        int itemPos = pos;
        int itemLine = line;
        ConfigValue item = parseValue(line, "the array item");
        if (item == null) {
          skipArrayJunk();
          continue;
        }
        if (looksLikeAKey(item)) {
          // `key = ...` cannot be an array item: the array was not closed. Give the line back to
          // the enclosing block so that one missing ']' is one error.
          error(open, "the array opened on this line is never closed (missing ']')");
          int nl = text.lastIndexOf('\n', itemPos - 1);
          if (nl > arrayStart) {
            pos = nl;
            line = itemLine - 1;
          } else {
            pos = itemPos;
            line = itemLine;
            skipToEol();
          }
          return value;
        }
        items.add(item);
        needItem = false;
        skipHSpace();
        c = peek();
        if (c == ',') {
          advance();
          needItem = true;
        } else if (!(c == ']' || c == '}' || atLineEnd())) {
          error(line, "expected ',' or ']' after the array item, found " + show(c));
          skipArrayJunk();
        }
      }
    }

    /** An unquoted word followed by {@code =}, {@code :} or {@code {}: a key, not a value. */
    private boolean looksLikeAKey(ConfigValue item) {
      if (item.kind() != ConfigValue.Kind.STRING || item.quoted()) {
        return false;
      }
      int savedPos = pos;
      int savedLine = line;
      skipHSpace();
      int c = peek();
      pos = savedPos;
      line = savedLine;
      return c == '=' || c == '{' || (item.raw().endsWith(":") && c != ',' && c != ']');
    }

    private ConfigValue parseDoubleQuoted(int valueLine) {
      int startPos = pos;
      int startLine = line;
      advance();
      StringBuilder sb = new StringBuilder();
      ByteArrayOutputStream hexBytes = new ByteArrayOutputStream();
      boolean badEscape = false;
      while (true) {
        int c = peek();
        if (c == EOF) {
          return unterminated(startPos, startLine, '"');
        }
        if (c != '\\' || peekAt(1) != 'x') {
          flushBytes(hexBytes, sb);
        }
        if (c == '"') {
          advance();
          break;
        }
        if (c != '\\') {
          sb.append((char) c);
          advance();
          continue;
        }
        advance();
        int e = peek();
        switch (e) {
          case 't' -> sb.append('\t');
          case 'n' -> sb.append('\n');
          case 'r' -> sb.append('\r');
          case '"' -> sb.append('"');
          case '\\' -> sb.append('\\');
          case 'x' -> {
            int hi = Character.digit(peekAt(1), 16);
            int lo = Character.digit(peekAt(2), 16);
            if (hi < 0 || lo < 0) {
              error(line, "expected two hexadecimal digits after '\\x'");
              badEscape = true;
            } else {
              hexBytes.write(hi * 16 + lo);
              advance();
              advance();
            }
          }
          case EOF -> {
            return unterminated(startPos, startLine, '"');
          }
          default -> {
            error(line, "invalid escape '\\" + (char) e
                + "' in string: only \\t \\n \\r \\\" \\\\ and \\xHH are allowed");
            badEscape = true;
          }
        }
        advance();
      }
      if (spansLinesIntoJunk(startLine)) {
        return unterminated(startPos, startLine, '"');
      }
      if (badEscape) {
        skipToEol();
        return null;
      }
      return ConfigValue.string(sb.toString(), true, file, valueLine);
    }

    private void flushBytes(ByteArrayOutputStream bytes, StringBuilder sb) {
      if (bytes.size() > 0) {
        sb.append(bytes.toString(StandardCharsets.UTF_8));
        bytes.reset();
      }
    }

    private ConfigValue parseSingleQuoted(int valueLine) {
      int startPos = pos;
      int startLine = line;
      advance();
      StringBuilder sb = new StringBuilder();
      while (peek() != '\'') {
        if (peek() == EOF) {
          return unterminated(startPos, startLine, '\'');
        }
        sb.append((char) peek());
        advance();
      }
      advance();
      if (spansLinesIntoJunk(startLine)) {
        return unterminated(startPos, startLine, '\'');
      }
      return ConfigValue.string(sb.toString(), true, file, valueLine);
    }

    /**
     * Whether a quoted string that was just closed spans several lines and is followed by
     * something no value can be followed by. Quoted strings may span lines, as in nats-server,
     * but this is far more often a missing quote whose string swallowed the lines up to the next
     * quote; treating it so reports one error on the right line instead of nonsense further on.
     */
    private boolean spansLinesIntoJunk(int startLine) {
      if (line == startLine) {
        return false;
      }
      int savedPos = pos;
      int savedLine = line;
      skipHSpace();
      int c = peek();
      boolean junk = !(atLineEnd() || c == ',' || c == ';' || c == '}' || c == ']');
      pos = savedPos;
      line = savedLine;
      return junk;
    }

    /** Reports a string that is never closed and resumes after its first line. */
    private ConfigValue unterminated(int startPos, int startLine, char quote) {
      error(startLine, "the string starting on this line is never closed (missing " + show(quote)
          + ")");
      pos = startPos;
      line = startLine;
      skipToEol();
      return null;
    }

    /** Turns an unquoted token into a number, boolean, variable value or string. */
    private ConfigValue classify(String token, int valueLine) {
      if (INTEGER.matcher(token).matches()) {
        try {
          return ConfigValue.integer(Long.parseLong(token), token, file, valueLine);
        } catch (NumberFormatException e) {
          error(valueLine, "integer " + token + " is out of range");
          return null;
        }
      }
      Matcher m = SUFFIXED.matcher(token);
      if (m.matches()) {
        long multiplier = sizeMultiplier(m.group(2));
        if (multiplier > 0) {
          try {
            long n = Math.multiplyExact(Long.parseLong(m.group(1)), multiplier);
            return ConfigValue.integer(n, token, file, valueLine);
          } catch (NumberFormatException | ArithmeticException e) {
            error(valueLine, "integer " + token + " is out of range");
            return null;
          }
        }
        // Not a size suffix, e.g. "10s": a string (a duration key will make sense of it).
      }
      if (FLOAT.matcher(token).matches()) {
        return ConfigValue.floating(Double.parseDouble(token), token, file, valueLine);
      }
      switch (token.toLowerCase(Locale.ROOT)) {
        case "true", "yes", "on":
          return ConfigValue.bool(true, token, file, valueLine);
        case "false", "no", "off":
          return ConfigValue.bool(false, token, file, valueLine);
        default:
          break;
      }
      if (token.startsWith("$")) {
        return resolveVariable(token.substring(1), valueLine);
      }
      return ConfigValue.string(token, false, file, valueLine);
    }

    private ConfigValue resolveVariable(String name, int refLine) {
      if (BCRYPT.matcher(name).matches()) {
        return ConfigValue.string("$" + name, false, file, refLine);
      }
      if (name.isEmpty()) {
        referenceFailed = true;
        error(refLine, "'$' must be followed by a variable name");
        return null;
      }
      for (Map<String, ConfigValue> scope : scopes) {
        ConfigValue v = scope.get(name);
        if (v != null) {
          v.markUsedAsVariable();
          return v.at(file, refLine);
        }
      }
      if (session.envResolving.contains(name)) {
        referenceFailed = true;
        error(refLine, "variable reference cycle for \"$" + name + "\"");
        return null;
      }
      String envText = env.apply(name);
      if (envText == null) {
        referenceFailed = true;
        error(refLine, "variable \"$" + name
            + "\" is not defined: no earlier key in this or an enclosing block,"
            + " and no environment variable, has that name");
        return null;
      }
      session.envResolving.add(name);
      try {
        List<ConfigError> subErrors = new ArrayList<>();
        FileParser sub = new FileParser(envText, file, refLine, session, subErrors);
        ConfigValue v = sub.parseStandaloneValue();
        if (v != null && subErrors.isEmpty()) {
          return v.at(file, refLine);
        }
        if (sub.referenceFailed) {
          referenceFailed = true;
          error(refLine, "environment variable \"" + name + "\" cannot be used: "
              + subErrors.get(0).message());
          return null;
        }
        // Text that is not a single value (say "a b") is taken literally.
        return ConfigValue.string(envText, false, file, refLine);
      } finally {
        session.envResolving.remove(name);
      }
    }

    /** Parses the whole text as one value (an environment variable's); null if it is not one. */
    ConfigValue parseStandaloneValue() {
      skipBlank();
      if (peek() == EOF) {
        return null;
      }
      ConfigValue v = parseValue(line, "the environment variable");
      skipBlank();
      return peek() == EOF ? v : null;
    }

    // ---- tokens ----------------------------------------------------------------------------

    private String readBareKey() {
      int start = pos;
      while (true) {
        int c = peek();
        if (c == EOF || isHSpace(c) || c == '\n' || c == '=' || c == ':' || c == '{' || c == '['
            || c == '}' || c == ']' || c == ',' || c == ';' || c == '"' || c == '\''
            || c == '#') {
          break;
        }
        advance();
      }
      return text.substring(start, pos);
    }

    private String readQuotedKey() {
      int quote = peek();
      int keyLine = line;
      advance();
      int start = pos;
      while (peek() != quote) {
        if (peek() == EOF || peek() == '\n') {
          error(keyLine, "the quoted key is never closed (missing " + show(quote) + ")");
          skipToEol();
          return null;
        }
        advance();
      }
      String key = text.substring(start, pos);
      advance();
      return key;
    }

    /** An unquoted value: up to white space, a new line, {@code , ; ] }} or the end. */
    private String readBareValue() {
      int start = pos;
      while (true) {
        int c = peek();
        if (c == EOF || isHSpace(c) || c == '\n' || c == ',' || c == ';' || c == ']' || c == '}') {
          break;
        }
        advance();
      }
      return text.substring(start, pos);
    }

    // ---- low-level scanning ----------------------------------------------------------------

    private int peek() {
      return pos < text.length() ? text.charAt(pos) : EOF;
    }

    private int peekAt(int ahead) {
      int i = pos + ahead;
      return i < text.length() ? text.charAt(i) : EOF;
    }

    private void advance() {
      if (pos < text.length()) {
        if (text.charAt(pos) == '\n') {
          line++;
        }
        pos++;
      }
    }

    private boolean atComment() {
      int c = peek();
      return c == '#' || (c == '/' && peekAt(1) == '/');
    }

    /** At a new line, a comment or the end (after skipping spaces and tabs). */
    private boolean atLineEnd() {
      int c = peek();
      return c == EOF || c == '\n' || atComment();
    }

    private void skipHSpace() {
      while (isHSpace(peek())) {
        advance();
      }
    }

    /** Skips spaces, new lines and comments. */
    private void skipBlank() {
      while (true) {
        int c = peek();
        if (isHSpace(c) || c == '\n') {
          advance();
        } else if (atComment()) {
          skipToEol();
        } else {
          return;
        }
      }
    }

    /** Moves to the next new line (not consumed) or the end. */
    private void skipToEol() {
      while (peek() != EOF && peek() != '\n') {
        advance();
      }
    }

    /** After a bad array item: up to the next {@code ,}, {@code ]}, {@code }} or new line. */
    private void skipArrayJunk() {
      while (true) {
        int c = peek();
        if (c == EOF || c == '\n' || c == ']' || c == '}') {
          return;
        }
        advance();
        if (c == ',') {
          return;
        }
      }
    }

    /** Skips a nats-server block string: up to a line holding only ')', else the line's end. */
    private void skipBlockString() {
      int close = text.indexOf("\n)", pos);
      while (close >= 0) {
        int after = close + 2;
        if (after >= text.length() || text.charAt(after) == '\n' || text.charAt(after) == '\r') {
          while (pos < after) {
            advance();
          }
          return;
        }
        close = text.indexOf("\n)", after);
      }
      skipToEol();
    }

    private boolean nextNonBlankIsBrace() {
      int savedPos = pos;
      int savedLine = line;
      skipBlank();
      boolean brace = peek() == '{';
      pos = savedPos;
      line = savedLine;
      return brace;
    }

    private void error(int atLine, String message) {
      errors.add(new ConfigError(file, atLine, message));
    }
  }

  /**
   * The multiplier of a size suffix, or 0 when {@code suffix} is not one. Follows nats-server's
   * {@code conf/parse.go}: a single letter is a power of 1000, a letter followed by {@code b},
   * {@code i} or {@code ib} is a power of 1024.
   */
  static long sizeMultiplier(String suffix) {
    String s = suffix.toLowerCase(Locale.ROOT);
    int power = "kmgtpe".indexOf(s.isEmpty() ? '?' : s.charAt(0)) + 1;
    if (power == 0) {
      return 0;
    }
    String rest = s.substring(1);
    long base;
    if (rest.isEmpty()) {
      base = 1000;
    } else if (rest.equals("b") || rest.equals("i") || rest.equals("ib")) {
      base = 1024;
    } else {
      return 0;
    }
    long m = 1;
    for (int i = 0; i < power; i++) {
      m *= base;
    }
    return m;
  }

  private static boolean isHSpace(int c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f';
  }

  private static String show(int c) {
    if (c == EOF) {
      return "the end of the file";
    }
    if (c == '\n') {
      return "a new line";
    }
    return "'" + (char) c + "'";
  }
}
