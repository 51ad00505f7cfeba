#!/usr/bin/perl
# Helpers for pg_core_regress.sh around one psql quirk. psql 15.20 (newer than the 15.18 suite
# Debian ships as source) skips script input after a `COPY … FROM STDIN` that fails before the
# copy starts, up to the next `\.` line. The 15.18 suite has COPYs that are expected to fail
# that way with no data of their own, so the newer psql would silently swallow the statements
# after them (often up to another COPY's terminator, far below).
#
#   suite.pl patch DIR      insert a `\.` line after each such COPY in DIR/sql/*.sql. Which
#                           COPYs fail before starting is read from DIR/expected/*.out (15.18's
#                           own output: the echoed COPY is followed by an ERROR that is not a
#                           COPY data error). With the `\.` right after it, the newer psql skips
#                           nothing more, and whatever follows is read as SQL again, as 15.18's
#                           psql did. Prints one line per patched COPY.
#   suite.pl complete SQL OUT
#                           checks that psql read every line of the script SQL as a statement
#                           line (except COPY data, empty lines and lines read while ECHO was
#                           not `all`): each must be echoed in OUT, in order. Prints the first line that is
#                           not and exits 1, so a truncated test fails the gate.
use strict;
use warnings;

# A line that starts (or, after psql's `\;`, continues) with COPY … FROM STDIN (or STDOUT,
# which psql reads the same way): one data block (up to `\.`) per COPY.
sub copies_from_stdin {
    my ($line) = @_;
    my $n = () = $line =~ /(?:^|\\;)\s*\\?copy\b[^;]*?\bfrom\s+std(?:in|out)\b/gi;
    return $n;
}

# The index of the first element of @$lines from $from on that equals $wanted, or undef.
sub find_from {
    my ($lines, $from, $wanted) = @_;
    for my $i ($from .. $#$lines) {
        return $i if $lines->[$i] eq $wanted;
    }
    return undef;
}

# Like find_from, but an output line may end with the echo: `\echo -n` output has no newline.
sub find_echo {
    my ($lines, $from, $wanted) = @_;
    for my $i ($from .. $#$lines) {
        my $line = $lines->[$i];
        return $i if $line eq $wanted || substr($line, -length($wanted)) eq $wanted;
    }
    return undef;
}

sub first_nonempty {
    my ($lines, $from) = @_;
    for my $i ($from .. $#$lines) {
        return $lines->[$i] if $lines->[$i] ne '';
    }
    return undef;
}

sub read_lines {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "cannot read $path: $!\n";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    return @lines;
}

sub patch {
    my ($dir) = @_;
    my $patched = 0;
    opendir(my $dh, "$dir/sql") or die "cannot list $dir/sql: $!\n";
    for my $file (sort grep { /\.sql$/ } readdir $dh) {
        (my $test = $file) =~ s/\.sql$//;
        my $expected = "$dir/expected/$test.out";
        next unless -f $expected;
        my @sql = read_lines("$dir/sql/$file");
        my @out = read_lines($expected);
        my ($at, @result) = (0);
        for my $i (0 .. $#sql) {
            push @result, $sql[$i];
            next unless copies_from_stdin($sql[$i]) == 1;
            my $echo = find_from(\@out, $at, $sql[$i]);
            next unless defined $echo;
            $at = $echo + 1;
            # Failed before starting: an ERROR right after the echo, and psql went on reading
            # the next lines as statements (echoed). A COPY that fails once started (COPY
            # FREEZE's checks, bad data) has had its data consumed, which the newer psql does too.
            my $following = first_nonempty(\@sql, $i + 1);
            next unless ($out[$echo + 1] // '') =~ /^ERROR:/ && defined $following && $following ne '\.';
            # (a `\.` right after it: already terminated, by us on an earlier run or by the suite)
            my $last = $echo + 8 > $#out ? $#out : $echo + 8;
            next unless grep { $_ eq $following } @out[$echo + 2 .. $last];
            push @result, '\.';
            $patched++;
            print "$test:", $i + 1, ": $sql[$i]\n";
        }
        open(my $fh, '>', "$dir/sql/$file") or die "cannot write $dir/sql/$file: $!\n";
        print $fh map { "$_\n" } @result;
        close $fh;
    }
    print "patched $patched COPY statements\n";
}

sub complete {
    my ($sql_path, $out_path) = @_;
    my @sql = read_lines($sql_path);
    my @out = read_lines($out_path);
    my ($at, $echo, $data) = (0, 1, 0);
    for my $i (0 .. $#sql) {
        my $line = $sql[$i];
        if ($data) {    # COPY data, never echoed
            $data-- if $line eq '\.';
            next;
        }
        # psql drops empty lines before echoing them (outside quotes; inside, echoed or not,
        # they prove nothing)
        if ($echo && $line ne '') {
            my $found = find_echo(\@out, $at, $line);
            if (!defined $found) {
                print "$sql_path:", $i + 1, ": not in the output: $line\n";
                exit 1;
            }
            $at = $found + 1;
            # a script that ends itself (a test skipped where it does not apply)
            return if $line =~ /^\\q(?:uit)?\s*$/ && $found == $#out;
        }
        $echo = ($1 eq 'all') if $line =~ /^\\set\s+ECHO\s+(\w+)/;
        $data = copies_from_stdin($line);
    }
}

my $command = shift // '';
if ($command eq 'patch' && @ARGV == 1) {
    patch(@ARGV);
} elsif ($command eq 'complete' && @ARGV == 2) {
    complete(@ARGV);
} else {
    die "usage: suite.pl patch DIR | suite.pl complete SQL OUT\n";
}
