<?php
// Reads a JSON list of {"params": {...}, "secret": "..."} and prints the same list with
// "concat" and "token" computed by the PHP rule: secretKey added, ksort, non-array values
// concatenated, sha256.
$cases = json_decode(file_get_contents('php://stdin'), true);
$out = [];
foreach ($cases as $c) {
    $args = $c['params'];
    $args['secretKey'] = $c['secret'];
    ksort($args);
    $s = '';
    foreach ($args as $v) {
        if (!is_array($v)) {
            $s .= $v;
        }
    }
    $out[] = ['params' => (object)$c['params'], 'secret' => $c['secret'], 'concat' => $s, 'token' => hash('sha256', $s)];
}
echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT), "\n";
