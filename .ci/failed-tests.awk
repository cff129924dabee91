# Prints each failed test of a .trx file with its message and the first lines of its stack trace.
/<UnitTestResult / {
  failedTest = ""
  if ($0 ~ /outcome="Failed"/) {
    name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
    gsub(/&quot;/, "\"", name); gsub(/&lt;/, "<", name); gsub(/&gt;/, ">", name); gsub(/&amp;/, "\\&", name)
    failedTest = name; print "FAILED: " name; lines = 0
  }
}
failedTest != "" && /<Message>/ { inText = 1 }
failedTest != "" && /<StackTrace>/ { inText = 1; stackLines = 0 }
inText {
  line = $0; sub(/^[ \t]+<(Message|StackTrace)>/, "", line); gsub(/<\/?(Message|StackTrace)>/, "", line); gsub(/&quot;/, "\"", line); gsub(/&lt;/, "<", line); gsub(/&gt;/, ">", line); gsub(/&amp;/, "\\&", line)
  if (lines++ < 30) print "  " line
  if ($0 ~ /<\/Message>|<\/StackTrace>/) inText = 0
}
/<\/UnitTestResult>/ { failedTest = ""; inText = 0 }
