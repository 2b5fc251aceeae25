// core/csv.hpp: RFC 4180 cells read back as written, and text cells a spreadsheet will not run.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "specvae/core/csv.hpp"

using specvae::csv::field;
using specvae::csv::split;
using V = std::vector<std::string>;

TEST(Csv, SplitsPlainQuotedAndEmptyCells) {
  EXPECT_EQ(split("a,b,c"), (V{"a", "b", "c"}));
  EXPECT_EQ(split(" a , b \r"), (V{"a", "b"}));
  EXPECT_EQ(split("a,"), (V{"a", ""}));
  EXPECT_EQ(split(""), V{});
  EXPECT_EQ(split("1,\"GALAXY, odd\",3"), (V{"1", "GALAXY, odd", "3"}));
  EXPECT_EQ(split("\"say \"\"hi\"\"\",x"), (V{"say \"hi\"", "x"}));
  EXPECT_EQ(split(" \" padded \" ,y\r"), (V{" padded ", "y"}));
}

TEST(Csv, FieldQuotesAndNeutralisesFormulas) {
  EXPECT_EQ(field("GALAXY"), "GALAXY");
  EXPECT_EQ(field("QSO,BAL"), "\"QSO,BAL\"");
  EXPECT_EQ(field("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  for (const char* f : {"+1", "-1", "@SUM(A1)", "\tx"}) EXPECT_EQ(field(f).find('\'') <= 1, true) << f;
  // Every written cell reads back as the (neutralised) text in one cell.
  for (const std::string s : {"GALAXY", "QSO,BAL", "a\"b", "=1+2", "x, \"y\", z"}) {
    const V cells = split("1," + field(s) + ",2");
    ASSERT_EQ(cells.size(), 3u) << s;
    EXPECT_EQ(cells[1], (s[0] == '=' ? "'" : "") + s);
  }
}
